// Labels in Chinese (the default) and English. Category, office and village names come
// from the active ruleset, in Chinese.
const LABELS = {
  zh: {
    title: '网格通', logout: '退出', login_title: '登录', login: '登录', token: '令牌',
    login_hint: '输入网格员或处置人员的令牌，或用手机相机扫描督查员打印的二维码。只需登录一次。',
    bad_token: '令牌无效或已过期。', bad_role: '本应用供网格员和部门处置人员使用；此令牌的角色是',
    offline: '离线：上报会保存在手机上，联网后自动发送。', online: '在线',
    tab_report: '上报', tab_queue: '待发送', tab_mine: '我的上报', tab_verify: '核查', tab_inbox: '待办',
    category: '类别', search_category: '搜索：汉字或拼音首字母（如 hjws）', choose_category: '请选择类别',
    severity: '等级', sev_1: '轻微', sev_2: '一般', sev_3: '较大', sev_4: '紧急',
    text: '描述', text_hint: '看到了什么、在哪里', photos: '照片（1–9张）', add_photos: '拍照或选择照片',
    position: '位置', locate: '重新定位', locating: '正在定位…', no_position: '无法取得位置',
    in_grid: '位于网格', near_grid: '不在任何网格内，最近的网格', metres: '米',
    grid: '网格', grid_auto: '按位置自动确定', located_later: '联网后由服务器按位置确定网格',
    submit: '上报', need_category: '请选择类别。', need_photo: '请至少添加一张照片。',
    need_place: '没有位置时请选择网格。', too_many_photos: '最多9张照片。', queued: '已保存，等待发送。',
    state_waiting: '等待发送', state_sending: '发送中', state_delivered: '已送达', state_refused: '被拒绝',
    case_no: '案件号', send_now: '立即发送', remove: '删除', queue_empty: '没有待发送的上报。',
    mine_empty: '还没有上报。', verify_empty: '没有待核查的案件。', inbox_empty: '没有待办案件。',
    status: '状态', office: '部门', deadline: '期限', village: '村（社区）', any: '全部',
    verify: '核查通过', reopen: '核查未通过，返工', satisfaction: '满意度', note: '说明',
    reason: '原因', accept: '受理', return: '退回', resolve: '办结', request_extension: '申请延期',
    until: '延期至', after_photos: '处置后照片', done: '已提交。', back: '← 返回',
    history: '办理过程', routing: '分派依据', map: '位置', rule: '规则', matched: '命中',
    hours_left: '剩余工作时', overdue_by: '已超期', working_hours: '工作小时', new_cases: '新案件',
    escalated: '督办', notify: '开启通知', case: '案件', at: '时间', actor: '办理人',
    reported_at: '上报时间', received_at: '受理时间', no_media: '没有照片。', refresh: '刷新',
    need_network: '需要联网。', reporter: '报告人', photo_count: '张照片',
    no_network: '网络不通，联网后自动重试。',
    s_dispatched: '已派遣', s_accepted: '处置中', s_resolved: '待核查', s_closed: '已办结',
    s_returned: '已退回', s_cancelled: '已作废',
    a_report: '上报', a_accept: '受理', a_return: '退回', a_reassign: '改派', a_resolve: '办结',
    a_verify: '核查通过', a_reopen: '返工', a_close: '结案', a_escalate: '督办', a_extend: '延期',
    a_cancel: '作废', a_comment: '留言', a_request_extension: '申请延期',
    a_deadline_warning: '临期预警', a_deadline_breach: '超期',
  },
  en: {
    title: 'Grid app', logout: 'Log out', login_title: 'Log in', login: 'Log in', token: 'Token',
    login_hint: 'Enter a grid worker\'s or office handler\'s token, or scan the QR code a supervisor printed. You log in once.',
    bad_token: 'The token is not valid or has expired.', bad_role: 'This app is for grid workers and office handlers; this token\'s role is',
    offline: 'Offline: reports are kept on the phone and sent when the network returns.', online: 'Online',
    tab_report: 'Report', tab_queue: 'Outbox', tab_mine: 'My reports', tab_verify: 'Verify', tab_inbox: 'Inbox',
    category: 'Category', search_category: 'Search: characters or pinyin initials (e.g. hjws)', choose_category: 'Choose a category',
    severity: 'Severity', sev_1: 'Minor', sev_2: 'Ordinary', sev_3: 'Major', sev_4: 'Emergency',
    text: 'Description', text_hint: 'What you saw, and where', photos: 'Photos (1–9)', add_photos: 'Take or choose photos',
    position: 'Position', locate: 'Locate again', locating: 'Locating…', no_position: 'No position available',
    in_grid: 'In grid', near_grid: 'Outside every grid; the nearest', metres: 'm',
    grid: 'Grid', grid_auto: 'From the position', located_later: 'The server places it by position once sent',
    submit: 'Send', need_category: 'Choose a category.', need_photo: 'Add at least one photo.',
    need_place: 'Without a position, choose the grid.', too_many_photos: 'At most 9 photos.', queued: 'Saved; waiting to be sent.',
    state_waiting: 'Waiting', state_sending: 'Sending', state_delivered: 'Delivered', state_refused: 'Refused',
    case_no: 'Case', send_now: 'Send now', remove: 'Remove', queue_empty: 'Nothing waiting to be sent.',
    mine_empty: 'No reports yet.', verify_empty: 'No cases to verify.', inbox_empty: 'No open cases.',
    status: 'Status', office: 'Office', deadline: 'Deadline', village: 'Village', any: 'Any',
    verify: 'Verified', reopen: 'Not fixed: reopen', satisfaction: 'Satisfaction', note: 'Note',
    reason: 'Reason', accept: 'Accept', return: 'Return', resolve: 'Resolve', request_extension: 'Request extension',
    until: 'Extend to', after_photos: 'Photos after', done: 'Done.', back: '← Back',
    history: 'History', routing: 'Why here', map: 'Position', rule: 'Rule', matched: 'matched',
    hours_left: 'Working hours left', overdue_by: 'Overdue by', working_hours: 'working hours', new_cases: 'New cases',
    escalated: 'Escalated', notify: 'Turn on notifications', case: 'Case', at: 'At', actor: 'By',
    reported_at: 'Reported', received_at: 'Received', no_media: 'No photos.', refresh: 'Refresh',
    need_network: 'This needs the network.', reporter: 'Reporter', photo_count: 'photos',
    no_network: 'No network; it is sent again once the network returns.',
    s_dispatched: 'Dispatched', s_accepted: 'In hand', s_resolved: 'To verify', s_closed: 'Closed',
    s_returned: 'Returned', s_cancelled: 'Cancelled',
    a_report: 'Reported', a_accept: 'Accepted', a_return: 'Returned', a_reassign: 'Reassigned', a_resolve: 'Resolved',
    a_verify: 'Verified', a_reopen: 'Reopened', a_close: 'Closed', a_escalate: 'Escalated', a_extend: 'Extended',
    a_cancel: 'Cancelled', a_comment: 'Comment', a_request_extension: 'Extension requested',
    a_deadline_warning: 'Deadline near', a_deadline_breach: 'Overdue',
  },
};

let language = localStorage.getItem('wangge.app.lang') === 'en' ? 'en' : 'zh';

export const lang = () => language;
export function setLanguage(value) {
  language = value === 'en' ? 'en' : 'zh';
  localStorage.setItem('wangge.app.lang', language);
  document.documentElement.lang = language === 'en' ? 'en' : 'zh-CN';
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
}
export const t = (key) => LABELS[language][key] ?? LABELS.zh[key] ?? key;

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(language === 'en' ? 'en-GB' : 'zh-CN',
                          { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
}

// Working hours left (negative: overdue), as the inbox shows it.
export function timeLeft(hours) {
  if (hours === undefined || hours === null) return '';
  return hours < 0 ? `${t('overdue_by')} ${(-hours).toFixed(1)} ${t('working_hours')}`
                   : `${t('hours_left')} ${hours.toFixed(1)}`;
}
