#include "engine/generator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace wangge::engine {
namespace {

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
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Exponential with the given mean.
  double Exponential(double mean) { return -std::log(1.0 - Uniform()) * mean; }

 private:
  uint64_t state_;
};

struct CategoryShare {
  const char* id;
  const char* text;
  double weight;
};

// A mix dominated by a few categories, as grid reports are.
constexpr std::array<CategoryShare, 12> kCategories = {{
    {"env.garbage", "河道漂浮垃圾", 22},
    {"city.occupation", "占道经营", 14},
    {"dispute.neighbour", "邻里纠纷", 11},
    {"safety.fire", "消防通道堵塞", 9},
    {"building.illegal", "违章搭建", 8},
    {"food.stall", "无证食品摊贩", 7},
    {"security.patrol", "治安隐患", 6},
    {"env.sewage", "污水直排", 6},
    {"service.streetlight", "路灯损坏", 6},
    {"market.pricing", "价格欺诈", 4},
    {"dispute.labour", "欠薪纠纷", 4},
    {"petition.letter", "群众来信", 3},
}};

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

std::string Uuid(Rng& rng) {
  uint64_t a = rng.Next(), b = rng.Next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

const CategoryShare& PickCategory(Rng& rng) {
  double total = 0;
  for (const auto& c : kCategories) total += c.weight;
  double x = rng.Uniform() * total;
  for (const auto& c : kCategories) {
    if ((x -= c.weight) < 0) return c;
  }
  return kCategories.back();
}

int PickSeverity(Rng& rng) {
  double x = rng.Uniform();
  return x < 0.55 ? 1 : x < 0.85 ? 2 : x < 0.97 ? 3 : 4;
}

// A local working-hours moment of the year: 08:00-18:00 +08:00.
int64_t ReportTime(Rng& rng, int64_t year_start_ms, int days_in_year) {
  int64_t day = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(days_in_year)));
  int64_t in_day = 8 * kHour + static_cast<int64_t>(rng.Uniform() * 10.0 * kHour);
  return year_start_ms + day * kDay + in_day;
}

Command Transit(const std::string& id, Action action, int64_t at, Actor actor) {
  Transition t;
  t.case_id = id;
  t.action = action;
  return Command{std::move(actor), TimeMs{at}, std::move(t)};
}

}  // namespace

Status GeneratorOptions::Validate() const {
  if (reports == 0 || reports > 100'000'000) {
    return InvalidArgument("reports must be 1-100000000", "reports");
  }
  if (workers < 1 || workers > 100'000)
    return InvalidArgument("workers must be 1-100000", "workers");
  if (villages < 1 || villages > 999) return InvalidArgument("villages must be 1-999", "villages");
  if (year < 2000 || year > 2100) return InvalidArgument("year must be 2000-2100", "year");
  return Status::Ok();
}

Status GenerateTownYear(const GeneratorOptions& options, const rules::Ruleset& rules,
                        const std::function<void(const Command&)>& emit) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  Rng rng(options.seed);
  auto start_text = std::to_string(options.year) + "-01-01T00:00:00+08:00";
  WANGGE_ASSIGN_OR_RETURN(TimeMs year_start, ParseRfc3339(start_text));
  const std::chrono::year y{options.year};
  const int days = y.is_leap() ? 366 : 365;

  std::vector<Command> commands;
  commands.reserve(options.reports * 4);
  char name[32];
  for (uint64_t i = 0; i < options.reports; ++i) {
    const int worker = static_cast<int>(rng.Below(static_cast<uint64_t>(options.workers)));
    const int village = worker % options.villages + 1;
    const CategoryShare& cat = PickCategory(rng);
    Report r;
    r.client_id = Uuid(rng);
    r.category = cat.id;
    std::snprintf(name, sizeof name, "V%02d", village);
    r.village = name;
    std::snprintf(name, sizeof name, "V%02d-G%d", village, static_cast<int>(rng.Below(5)) + 1);
    r.grid = name;
    r.severity = PickSeverity(rng);
    r.text = cat.text;
    r.lat = 29.80 + rng.Uniform() * 0.15;
    r.lon = 120.20 + rng.Uniform() * 0.15;
    r.attachments = static_cast<int>(rng.Below(4));
    const int64_t device = ReportTime(rng, year_start.ms, days);
    r.reported_at = TimeMs{device};
    // Most reports arrive within a minute; one in ten after an offline spell.
    int64_t received =
        device + (rng.Uniform() < 0.1 ? static_cast<int64_t>(rng.Exponential(2.0 * kHour))
                                      : static_cast<int64_t>(rng.Below(60'000)));
    std::snprintf(name, sizeof name, "W%03d", worker + 1);
    Actor reporter{name, Role::kWorker, ""};

    rules::Decision d = rules.Route(
        {r.category, r.severity, r.village, r.grid, TimeMs{received}, r.text, reporter.id});
    std::snprintf(name, sizeof name, "H-%s-%02d", d.office.c_str(),
                  static_cast<int>(rng.Below(5)) + 1);
    Actor handler{name, Role::kHandler, d.office};
    const std::string id = r.client_id;
    commands.push_back(Command{reporter, TimeMs{received}, std::move(r)});

    const double limit = static_cast<double>(d.deadline.ms - received);
    int64_t t = received + kMinute + static_cast<int64_t>(rng.Exponential(0.05 * limit));
    commands.push_back(Transit(id, Action::kAccept, t, handler));
    // Handling takes about 40% of the limit on average; some cases breach it.
    t += kMinute + static_cast<int64_t>(rng.Exponential(0.4 * limit));
    commands.push_back(Transit(id, Action::kResolve, t, handler));
    if (rng.Uniform() < 0.02) {
      t += kHour + static_cast<int64_t>(rng.Exponential(4.0 * kHour));
      Command reopen = Transit(id, Action::kReopen, t, reporter);
      std::get<Transition>(reopen.body).note = "核查未通过";
      commands.push_back(std::move(reopen));
      t += kMinute + static_cast<int64_t>(rng.Exponential(0.2 * limit));
      commands.push_back(Transit(id, Action::kResolve, t, handler));
    }
    t += kMinute + static_cast<int64_t>(rng.Exponential(3.0 * kHour));
    Command verify = Transit(id, Action::kVerify, t, reporter);
    std::get<Transition>(verify.body).satisfaction = rng.Uniform() < 0.95 ? 5 : 3;
    commands.push_back(std::move(verify));
  }
  // Time order; stable, so a case's own commands (strictly later) keep causal order.
  std::stable_sort(commands.begin(), commands.end(),
                   [](const Command& a, const Command& b) { return *a.at < *b.at; });
  for (const auto& c : commands) emit(c);
  return Status::Ok();
}

}  // namespace wangge::engine
