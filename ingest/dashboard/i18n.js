// Labels in Chinese (the default) and English. Office and category names come from the
// active ruleset in Chinese; in English the dashboard shows their ids.
const LABELS = {
  zh: {
    title: '网格事件办结看板', logout: '退出', login_title: '登录', login: '登录', token: '令牌',
    login_hint: '请输入督查员或审计员令牌。令牌只保存在本浏览器会话中。',
    bad_token: '令牌无效。', bad_role: '看板只对督查员、审计员和管理员开放；此令牌的角色是',
    from: '起', to: '止', preset_all: '全部', preset_30: '近30天', preset_90: '近90天', preset_year: '今年',
    office: '部门', village: '村（社区）', category: '类别', interval: '趋势', week: '按周', month: '按月',
    any: '全部', one_filter: '部门、村、类别一次只能选一项。',
    reports: '报告数', closure_rate: '办结率', on_time_rate: '按期办结率', p50: '办结时长中位数',
    p90: '办结时长P90', overdue_open: '当前超期', satisfaction_rate: '满意率',
    by_office: '各部门办结情况', by_village: '各村办结情况', trend: '办结率趋势',
    backlog: '未办结案件账龄', grid_heat: '网格未办结热度', overdue_list: '超期未办结（最早到期在前）',
    name: '名称', total: '报告', closed: '办结', open: '未办结', overdue: '超期',
    hours: '小时', none_overdue: '没有超期未办结的案件。', none: '无数据',
    case_id: '案件', deadline: '期限', overdue_by: '超期', days: '天', received_at: '受理时间',
    back: '← 返回看板', routing: '分派依据', history: '办理过程', status: '状态',
    evidence: '现场照片', no_media: '没有照片。', step_report: '上报（处置前）',
    step_resolve: '处置（处置后）', step_verify: '核查', step_comment: '留言', captured_before_report: '拍摄时间早于上报24小时以上',
    reused: '照片在其他案件中使用过', captured: '拍摄',
    severity: '等级', reporter: '报告人', grid: '网格', rule: '规则', ruleset: '规则集',
    priority: '优先级', closed_at: '办结时间', seq: '序号', at: '时间', actor: '办理人',
    role: '角色', action: '动作', note: '说明', matches_record: '与记录一致', yes: '是', no: '否',
    table: '规则表', row: '行', matched: '命中', reason: '原因', escalation: '督办链',
    more_pages: '（结果已截断）', age: '账龄', text: '描述', channel: '来源', updated: '已实时更新',
    map: '网格地图', shade_by: '着色', shade_open: '未办结案件', shade_overdue: '超期案件',
    map_hint: '悬停查看网格数据，点击网格查看其未办结案件；圆点为有位置的未办结案件。',
    no_geography: '尚未启用网格地理数据（wangge geo activate）。', worker: '网格员',
    grid_cases: '网格未办结案件', no_cases: '该网格在所选期间没有未办结案件。',
  },
  en: {
    title: 'Grid case closure dashboard', logout: 'Log out', login_title: 'Log in', login: 'Log in',
    token: 'Token', login_hint: 'Enter a supervisor or auditor token. It is kept in this browser session only.',
    bad_token: 'The token is not valid.', bad_role: 'The dashboard is for supervisors, auditors and admins; this token\'s role is',
    from: 'From', to: 'To', preset_all: 'All', preset_30: 'Last 30 days', preset_90: 'Last 90 days',
    preset_year: 'This year', office: 'Office', village: 'Village', category: 'Category',
    interval: 'Trend', week: 'Weekly', month: 'Monthly', any: 'All',
    one_filter: 'Office, village and category filter one at a time.',
    reports: 'Reports', closure_rate: 'Closure rate', on_time_rate: 'On-time rate',
    p50: 'Median closure time', p90: 'P90 closure time', overdue_open: 'Overdue now',
    satisfaction_rate: 'Satisfaction', by_office: 'Closure by office', by_village: 'Closure by village',
    trend: 'Closure trend', backlog: 'Open cases by age', grid_heat: 'Open cases by grid',
    overdue_list: 'Overdue, oldest deadline first', name: 'Name', total: 'Reports', closed: 'Closed',
    open: 'Open', overdue: 'Overdue', hours: 'h', none_overdue: 'No open case is overdue.',
    none: 'No data', case_id: 'Case', deadline: 'Deadline', overdue_by: 'Overdue by', days: 'd',
    received_at: 'Received', back: '← Back to the dashboard', routing: 'Why it went there',
    history: 'History', evidence: 'Photos', no_media: 'No photos.', step_report: 'Report (before)',
    step_resolve: 'Resolved (after)', step_verify: 'Verification', step_comment: 'Comment',
    captured_before_report: 'taken more than 24 h before the report',
    reused: 'used in another case too', captured: 'taken', status: 'Status', severity: 'Severity', reporter: 'Reporter', grid: 'Grid',
    rule: 'Rule', ruleset: 'Ruleset', priority: 'Priority', closed_at: 'Closed', seq: 'Seq',
    at: 'At', actor: 'Actor', role: 'Role', action: 'Action', note: 'Note',
    matches_record: 'Matches the record', yes: 'yes', no: 'no', table: 'Table', row: 'Row',
    matched: 'Matched', reason: 'Reason', escalation: 'Escalation', more_pages: '(truncated)', age: 'Age',
    text: 'Description', channel: 'Channel', updated: 'Updated live at',
    map: 'Grid map', shade_by: 'Shade by', shade_open: 'open cases', shade_overdue: 'overdue cases',
    map_hint: 'Hover a grid for its figures, click it for its open cases; dots are open cases with a position.',
    no_geography: 'No geography is active yet (wangge geo activate).', worker: 'Worker',
    grid_cases: 'Open cases of grid', no_cases: 'This grid has no open case in the window.',
  },
};

const STATUS = {
  zh: { dispatched: '已分派', accepted: '已受理', resolved: '已办理', closed: '已办结',
        returned: '已退回', cancelled: '已作废' },
};

let lang = 'zh';

export function setLanguage(code) {
  lang = code === 'en' ? 'en' : 'zh';
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

export function language() { return lang; }

export function t(key) { return LABELS[lang][key] ?? key; }

export function statusName(status) { return STATUS[lang]?.[status] ?? status; }

// The display name of an office or category id under the active ruleset.
export function nameOf(names, id) { return lang === 'zh' && names.has(id) ? names.get(id) : id; }

export function percent(rate) { return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`; }

export function hours(h) { return h === null || h === undefined ? '—' : `${h.toFixed(1)} ${t('hours')}`; }

export function count(n) { return Number(n).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US'); }
