#include "io/generator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <queue>
#include <string>
#include <vector>

namespace wangge::io {

using namespace engine;  // the generator speaks the engine's domain throughout
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// splitmix64: a tiny generator whose output is fixed by its definition, unlike the
// standard library's distributions, so a seed means the same stream everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Chance(double p) { return Uniform() < p; }
  double Exponential(double mean) { return -std::log(1.0 - Uniform()) * mean; }
  // Standard normal by Box-Muller (one of the pair; determinism over speed).
  double Normal() {
    double u = 1.0 - Uniform(), v = Uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

 private:
  uint64_t state_;
};

// Appends `v` in decimal with at least `width` digits (what printf's %0Nd does).
void AppendNumber(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) out.push_back(buf[--n]);
}

// Appends the low `digits` hex digits of `v`.
void AppendHex(std::string& out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
}

// Picks an index with probability proportional to its weight. Immutable.
class Weighted {
 public:
  explicit Weighted(const std::vector<double>& weights) {
    double sum = 0;
    for (double w : weights) cumulative_.push_back(sum += w);
  }
  size_t Pick(Rng& rng) const {
    double x = rng.Uniform() * cumulative_.back();
    return static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), x) -
                               cumulative_.begin());
  }

 private:
  std::vector<double> cumulative_;
};

// Texts workers write, by category prefix.
std::string_view TextFor(std::string_view category) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kTexts = {{
      {"env.", "河道漂浮垃圾，需清理"},
      {"city.", "沿街占道经营，影响通行"},
      {"dispute.", "邻里因琐事发生纠纷"},
      {"security.", "发现治安隐患"},
      {"petition.", "群众反映诉求"},
      {"food.", "无证食品摊贩"},
      {"market.", "商户价格标示不清"},
      {"safety.", "消防通道被杂物堵塞"},
      {"building.", "新建违章搭建"},
      {"service.", "路灯损坏，夜间无照明"},
  }};
  for (const auto& [prefix, text] : kTexts) {
    if (category.starts_with(prefix)) return text;
  }
  return "网格巡查发现问题";
}

// A command waiting for its time, by its slot in the generator's slab; `order` breaks
// ties so the stream is deterministic. Small, so heap moves are cheap.
struct Scheduled {
  int64_t at;
  uint64_t order;
  uint32_t slot;
  bool operator>(const Scheduled& o) const { return at != o.at ? at > o.at : order > o.order; }
};

class Generator {
 public:
  Generator(const GeneratorOptions& o, const rules::Ruleset& rules,
            const std::function<void(const Command&)>& emit)
      : o_(o), rules_(rules), emit_(emit), rng_(o.seed) {}

  Status Run();

 private:
  void SetUpCategories();
  std::vector<double> DayWeights(int64_t first_day, int64_t days) const;
  void AddReport(int town, int64_t received);
  void Lifecycle(const engine::Report& r, const Actor& reporter, int64_t received);
  void Schedule(int64_t at, Command c) {
    uint32_t slot;
    if (free_.empty()) {
      slot = static_cast<uint32_t>(slab_.size());
      slab_.push_back(std::move(c));
    } else {
      slot = free_.back();
      free_.pop_back();
      slab_[slot] = std::move(c);
    }
    heap_.push(Scheduled{at, order_++, slot});
  }
  void FlushUntil(int64_t t) {
    while (!heap_.empty() && heap_.top().at <= t) {
      const uint32_t slot = heap_.top().slot;
      heap_.pop();
      emit_(slab_[slot]);
      free_.push_back(slot);
    }
  }
  Actor Handler(const std::string& office) {
    std::string id = "H-" + office + "-";
    AppendNumber(id, rng_.Below(4) + 1, 2);
    return Actor{std::move(id), Role::kHandler, office};
  }
  Command Transit(const std::string& id, Action a, int64_t at, const Actor& actor,
                  std::string note = {}) {
    Transition t;
    t.case_id = id;
    t.action = a;
    t.note = std::move(note);
    return Command{actor, TimeMs{at}, std::move(t)};
  }
  std::string Uuid() {
    uint64_t a = rng_.Next(), b = rng_.Next();
    // A version-4 UUID layout: 8-4-4-4-12 hex digits.
    std::string out;
    out.reserve(36);
    AppendHex(out, a >> 32, 8);
    out.push_back('-');
    AppendHex(out, a >> 16, 4);
    out += "-4";
    AppendHex(out, a, 3);
    out.push_back('-');
    AppendHex(out, 0x8000 | ((b >> 48) & 0x3FFF), 4);
    out.push_back('-');
    AppendHex(out, b, 12);
    return out;
  }

  const GeneratorOptions& o_;
  const rules::Ruleset& rules_;
  const std::function<void(const Command&)>& emit_;
  Rng rng_;
  std::vector<std::string> categories_;
  std::vector<double> category_weights_;
  std::vector<Weighted> category_by_season_;  // [0] normal, [1] summer, [2] pre-festival
  std::unique_ptr<Weighted> workers_;
  std::vector<std::string> platforms_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> heap_;
  std::vector<Command> slab_;   // scheduled commands, by slot
  std::vector<uint32_t> free_;  // slots free for reuse
  uint64_t order_ = 0;
  int64_t festival_day_ = -1;  // first day of the Spring Festival break in the period
  int season_ = 0;
};

void Generator::SetUpCategories() {
  // Categories: a Zipf-like mix in the ruleset's declared order, so a few dominate.
  static constexpr std::array<std::string_view, 12> kCommon = {
      "env.garbage",         "city.occupation", "dispute.neighbour", "safety.fire",
      "building.illegal",    "food.stall",      "security.patrol",   "env.sewage",
      "service.streetlight", "city.parking",    "dispute.family",    "market.pricing"};
  for (auto c : kCommon) categories_.emplace_back(c);
  for (const char* c :
       {"env.river",        "env.burning",      "env.noise",         "city.advert",
        "city.facility",    "dispute.land",     "dispute.labour",    "dispute.property",
        "dispute.traffic",  "security.fraud",   "security.gambling", "petition.letter",
        "petition.visit",   "food.safety",      "food.restaurant",   "market.license",
        "market.quality",   "market.equipment", "safety.production", "safety.gas",
        "safety.chemicals", "safety.rental",    "building.unsafe",   "service.water",
        "service.road",     "service.social",   "service.assistance"}) {
    categories_.emplace_back(c);
  }
  for (size_t i = 0; i < categories_.size(); ++i) {
    category_weights_.push_back(1.0 / std::pow(static_cast<double>(i + 1), 1.1));
  }
  for (int season = 0; season < 3; ++season) {
    std::vector<double> w = category_weights_;
    for (size_t i = 0; i < w.size(); ++i) {
      if (season == 1 && categories_[i].starts_with("env.")) w[i] *= 1.8;     // summer
      if (season == 2 && categories_[i].starts_with("safety.")) w[i] *= 2.5;  // festival checks
    }
    category_by_season_.emplace_back(w);
  }
  // Worker activity is skewed: weight 1/sqrt(rank).
  std::vector<double> w;
  for (int i = 0; i < o_.workers; ++i) w.push_back(1.0 / std::sqrt(i + 1.0));
  workers_ = std::make_unique<Weighted>(w);
  for (const auto& office : rules_.offices()) {
    if (office.level == rules::OfficeLevel::kPlatform && office.id != "zhihuishi" &&
        office.id != "zhiban") {
      platforms_.push_back(office.id);
    }
  }
  if (platforms_.empty()) platforms_.push_back(rules_.offices().front().id);
}

// Relative report volume per day: weekends and holidays are quiet, summer is busier.
std::vector<double> Generator::DayWeights(int64_t first_day, int64_t days) const {
  const auto& cal = rules_.calendar();
  std::vector<double> w;
  for (int64_t d = first_day; d < first_day + days; ++d) {
    std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{d}}};
    const unsigned month = static_cast<unsigned>(ymd.month());
    double x = cal.IsWorkingDay(d) ? 1.0 : (cal.IsHoliday(d) ? 0.25 : 0.4);
    if (month >= 6 && month <= 8) x *= 1.25;
    w.push_back(x);
  }
  return w;
}

Status Generator::Run() {
  SetUpCategories();
  const auto& cal = rules_.calendar();
  int64_t from = o_.from ? o_.from->ms : 0, to = o_.to ? o_.to->ms : 0;
  if (!o_.from || !o_.to) {
    WANGGE_ASSIGN_OR_RETURN(TimeMs start,
                            ParseRfc3339(std::to_string(o_.year) + "-01-01T00:00:00+08:00"));
    WANGGE_ASSIGN_OR_RETURN(TimeMs end,
                            ParseRfc3339(std::to_string(o_.year + 1) + "-01-01T00:00:00+08:00"));
    if (!o_.from) from = start.ms;
    if (!o_.to) to = end.ms;
  }
  if (to <= from) return InvalidArgument("the period is empty: to must be after from", "to");
  const int64_t offset = cal.utc_offset().count() * kMinute;
  const int64_t first_day = cal.LocalDay(TimeMs{from});
  const int64_t days = cal.LocalDay(TimeMs{to - 1}) - first_day + 1;
  // The Spring Festival break: the first holiday run of at least 7 days in Jan/Feb.
  for (int64_t d = first_day; d < first_day + days && festival_day_ < 0; ++d) {
    int run = 0;
    while (cal.IsHoliday(d + run)) ++run;
    std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{d}}};
    if (run >= 7 && static_cast<unsigned>(ymd.month()) <= 2) festival_day_ = d;
  }

  const std::vector<double> weights = DayWeights(first_day, days);
  double total = 0;
  for (double w : weights) total += w;
  const double reports = static_cast<double>(o_.reports);
  double cumulative = 0;
  std::vector<int64_t> times;
  for (int64_t i = 0; i < days; ++i) {
    // Exact total: each day gets the rounded share of the cumulative expectation.
    const auto before = static_cast<uint64_t>(std::llround(cumulative / total * reports));
    cumulative += weights[static_cast<size_t>(i)];
    const auto after = static_cast<uint64_t>(std::llround(cumulative / total * reports));
    const int64_t day = first_day + i;
    std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
    const unsigned month = static_cast<unsigned>(ymd.month());
    season_ = (festival_day_ >= 0 && day < festival_day_ && day >= festival_day_ - 30) ? 2
              : (month >= 6 && month <= 8)                                             ? 1
                                                                                       : 0;
    for (int town = 0; town < o_.towns; ++town) {
      times.clear();
      for (uint64_t k = before; k < after; ++k) {
        // Working-hour rhythm: most reports 08:00-18:00, peaking mid-morning and
        // mid-afternoon; a few at night.
        double hour = rng_.Chance(0.92) ? (rng_.Chance(0.5) ? 10.0 : 15.0) + rng_.Normal() * 1.6
                                        : rng_.Uniform() * 24.0;
        hour = std::clamp(hour, 0.0, 23.99);
        int64_t t = day * kDay - offset + static_cast<int64_t>(hour * kHour);
        if (t >= from && t < to) times.push_back(t);
      }
      std::sort(times.begin(), times.end());
      for (int64_t t : times) {
        FlushUntil(t);
        AddReport(town, t);
      }
    }
  }
  FlushUntil(o_.open_at_end ? to - 1 : INT64_MAX);
  return Status::Ok();
}

void Generator::AddReport(int town, int64_t received) {
  std::string prefix;
  if (town > 0) {
    prefix = "T";
    AppendNumber(prefix, static_cast<uint64_t>(town + 1), 4);
    prefix.push_back('-');
  }
  const int worker = static_cast<int>(workers_->Pick(rng_));
  // Each worker walks a home village; one report in ten is from a neighbouring one.
  int village = worker % o_.villages;
  if (rng_.Chance(0.1)) village = (village + 1) % o_.villages;
  engine::Report r;
  r.client_id = Uuid();
  r.category = categories_[category_by_season_[static_cast<size_t>(season_)].Pick(rng_)];
  r.village = prefix + "V";
  AppendNumber(r.village, static_cast<uint64_t>(village + 1), 2);
  r.grid = r.village + "-G";
  AppendNumber(r.grid, rng_.Below(5) + 1, 1);
  const double s = rng_.Uniform();
  r.severity = s < 0.55 ? 1 : s < 0.85 ? 2 : s < 0.97 ? 3 : 4;
  r.text = std::string(TextFor(r.category));
  // Inside the grid, or (about 2%) in another village's grid: a report written up later,
  // or a worker who picked the wrong grid.
  const int grid = r.grid.back() - '1';
  int where = village;
  if (rng_.Chance(0.02)) where = (village + 2 + static_cast<int>(rng_.Below(5))) % o_.villages;
  const GridBox box = GridBoxOf(where, where == village ? grid : 0, o_.villages);
  r.lat = std::round((box.south + rng_.Uniform() * (box.north - box.south)) * 1e6) / 1e6;
  r.lon = std::round((box.west + rng_.Uniform() * (box.east - box.west)) * 1e6) / 1e6;
  r.attachments = static_cast<int>(rng_.Below(4));
  // Most reports arrive within a minute of being written; one in ten after an offline
  // spell of hours.
  const int64_t lag = rng_.Chance(0.1) ? static_cast<int64_t>(rng_.Exponential(2.0 * kHour))
                                       : static_cast<int64_t>(rng_.Below(60'000));
  r.reported_at = TimeMs{received - lag};
  auto worker_id = [&prefix](uint64_t n) {
    std::string id = prefix + "W";
    AppendNumber(id, n, 3);
    return id;
  };
  Actor reporter{worker_id(static_cast<uint64_t>(worker + 1)), Role::kWorker, ""};
  emit_(Command{reporter, TimeMs{received}, r});
  Lifecycle(r, reporter, received);

  // One report in a hundred is reported again by a colleague; the command centre
  // cancels the duplicate.
  if (rng_.Chance(0.01)) {
    engine::Report dup = r;
    dup.client_id = Uuid();
    const int64_t at = received + kMinute + static_cast<int64_t>(rng_.Below(2 * kHour));
    const std::string colleague = worker_id(rng_.Below(static_cast<uint64_t>(o_.workers)) + 1);
    dup.reported_at = TimeMs{at};
    Schedule(at, Command{Actor{colleague, Role::kWorker, ""}, TimeMs{at}, dup});
    const int64_t cancel_at = at + kHour + static_cast<int64_t>(rng_.Exponential(3.0 * kHour));
    Schedule(cancel_at, Transit(dup.client_id, Action::kCancel, cancel_at,
                                Actor{"S-01", Role::kSupervisor, ""}, "重复上报"));
  }
}

void Generator::Lifecycle(const engine::Report& r, const Actor& reporter, int64_t received) {
  rules::Decision d = rules_.Route(
      {r.category, r.severity, r.village, r.grid, TimeMs{received}, r.text, reporter.id});
  const double limit = static_cast<double>(d.deadline.ms - received);
  const Actor supervisor{"S-01", Role::kSupervisor, ""};
  std::string office = d.office;
  Actor handler = Handler(office);
  const std::string& id = r.client_id;
  auto at = [](Command c, int64_t t) {
    c.at = TimeMs{t};
    return c;
  };

  int64_t t = received + kMinute + static_cast<int64_t>(rng_.Exponential(0.04 * limit));
  // (A ruleset with a single platform office has nowhere else to send a case.)
  if (rng_.Chance(0.02) && platforms_.size() >= 2) {
    // Returned as not the office's own; the command centre sends it elsewhere.
    Schedule(t, at(Transit(id, Action::kReturn, 0, handler, "非本部门职责"), t));
    std::string other = platforms_[rng_.Below(platforms_.size())];
    if (other == office)
      other = platforms_[(rng_.Below(platforms_.size() - 1) + 1) % platforms_.size()];
    if (other == office) other = "zhihuishi";
    t += 10 * kMinute + static_cast<int64_t>(rng_.Exponential(kHour));
    Command reassign = Transit(id, Action::kReassign, t, supervisor);
    std::get<Transition>(reassign.body).to_office = other;
    Schedule(t, std::move(reassign));
    office = other;
    handler = Handler(office);
    t += kMinute + static_cast<int64_t>(rng_.Exponential(0.04 * limit));
  }
  Schedule(t, at(Transit(id, Action::kAccept, 0, handler), t));
  int64_t deadline = d.deadline.ms;
  if (rng_.Chance(0.01)) {
    // A hard case: the command centre approves an extension of one more limit.
    t += kMinute + static_cast<int64_t>(rng_.Exponential(0.1 * limit));
    deadline += static_cast<int64_t>(limit);
    Command extend = Transit(id, Action::kExtend, t, supervisor, "情况复杂，批准延期");
    std::get<Transition>(extend.body).until = TimeMs{deadline};
    Schedule(t, std::move(extend));
  }
  // Handling time: log-normal around a third of the time limit; offices differ.
  uint32_t h = 2166136261u;  // FNV-1a: a fixed hash, so the pace is the same everywhere
  for (char c : office) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  const double office_pace = 0.20 + 0.10 * static_cast<double>(h % 3);
  t += kMinute + static_cast<int64_t>(rng_.LogNormal(office_pace * limit, 0.9));
  Schedule(t, at(Transit(id, Action::kResolve, 0, handler), t));
  if (rng_.Chance(0.03)) {
    t += 30 * kMinute + static_cast<int64_t>(rng_.Exponential(4.0 * kHour));
    Schedule(t, at(Transit(id, Action::kReopen, 0, reporter, "核查未通过，返工"), t));
    t += kMinute + static_cast<int64_t>(rng_.LogNormal(0.15 * limit, 0.7));
    Schedule(t, at(Transit(id, Action::kResolve, 0, handler), t));
  }
  t += 5 * kMinute + static_cast<int64_t>(rng_.Exponential(2.0 * kHour));
  Command verify = Transit(id, Action::kVerify, t, reporter);
  const double s = rng_.Uniform();
  std::get<Transition>(verify.body).satisfaction = s < 0.85 ? 5 : s < 0.95 ? 4 : s < 0.99 ? 3 : 2;
  Schedule(t, std::move(verify));
}

}  // namespace

Status GeneratorOptions::Validate() const {
  if (reports == 0 || reports > 100'000'000) {
    return InvalidArgument("reports must be 1-100000000", "reports");
  }
  if (towns < 1 || towns > 9999) return InvalidArgument("towns must be 1-9999", "towns");
  if (workers < 1 || workers > 100'000)
    return InvalidArgument("workers must be 1-100000", "workers");
  if (villages < 1 || villages > 99) return InvalidArgument("villages must be 1-99", "villages");
  if (year < 2000 || year > 2100) return InvalidArgument("year must be 2000-2100", "year");
  return Status::Ok();
}

namespace {

constexpr double kCentreLat = 29.87, kCentreLon = 120.28;
constexpr double kVillageLat = 0.02, kVillageLon = 0.015;  // about 2,220 m × 1,450 m
constexpr int kVillagesPerRow = 8;

}  // namespace

GridBox GridBoxOf(int village, int grid, int villages) {
  const int rows = (villages + kVillagesPerRow - 1) / kVillagesPerRow;
  const double south0 = kCentreLat - rows * kVillageLat / 2;
  const double west0 = kCentreLon - kVillagesPerRow * kVillageLon / 2;
  const double strip = kVillageLat / kGridsPerVillage;
  GridBox b;
  b.south = south0 + (village / kVillagesPerRow) * kVillageLat + grid * strip;
  b.north = b.south + strip;
  b.west = west0 + (village % kVillagesPerRow) * kVillageLon;
  b.east = b.west + kVillageLon;
  return b;
}

std::string TownGeography(const GeneratorOptions& options) {
  std::string out = "{\"type\": \"FeatureCollection\", \"version\": \"gen-" +
                    std::to_string(options.seed) + "-" + std::to_string(options.villages) +
                    "\",\n \"features\": [";
  char buf[512];
  for (int v = 0; v < options.villages; ++v) {
    for (int g = 0; g < kGridsPerVillage; ++g) {
      const GridBox b = GridBoxOf(v, g, options.villages);
      std::snprintf(buf, sizeof buf,
                    "%s\n  {\"type\": \"Feature\", \"properties\": {\"grid\": \"V%02d-G%d\", "
                    "\"village\": \"V%02d\"}, \"geometry\": {\"type\": \"Polygon\", "
                    "\"coordinates\": [[[%.6f, %.6f], [%.6f, %.6f], [%.6f, %.6f], [%.6f, %.6f], "
                    "[%.6f, %.6f]]]}}",
                    v + g == 0 ? "" : ",", v + 1, g + 1, v + 1, b.west, b.south, b.east, b.south,
                    b.east, b.north, b.west, b.north, b.west, b.south);
      out += buf;
    }
  }
  return out + "\n]}\n";
}

Status GenerateTownYear(const GeneratorOptions& options, const rules::Ruleset& rules,
                        const std::function<void(const Command&)>& emit) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  Generator g(options, rules, emit);
  return g.Run();
}

}  // namespace wangge::io
