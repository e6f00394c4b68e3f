// Open311 GeoReport v2 (ingest/open311.h, docs/open311.md): the services of the active
// ruleset, requests posted as reports through the sink, and requests read under the one
// access policy.
#include "ingest/open311.h"

#include <algorithm>
#include <tuple>

#include <spdlog/spdlog.h>

#include "core/mutex.h"
#include "engine/access.h"
#include "ingest/handlers/handlers.h"
#include "ingest/handlers/submit.h"
#include "ingest/server.h"

namespace wangge::ingest {

Open311Routes::~Open311Routes() = default;

class Open311Handlers final : public Open311Routes {
 public:
  Open311Handlers(engine::Engine& engine, wire::CommandSink& sink) : engine_(engine), sink_(sink) {}

  static void SendOpen311(Exchange& ex, open311::Format format, http::status status,
                          const open311::Node& doc) {
    Response res{status, ex.request().version()};
    res.set(http::field::content_type, open311::ContentType(format));
    res.keep_alive(ex.request().keep_alive());
    res.body() = open311::Render(doc, format);
    res.prepare_payload();
    SetRetryAfter(res);
    ex.Send(std::move(res));
  }

  // An error as the spec's error list, with the HTTP status as its code. (A bad api_key
  // is kPermissionDenied, so the spec's 403.)
  static void Open311Error(Exchange& ex, open311::Format format, const Status& s) {
    Open311Error(ex, format, s, HttpStatusOf(s.code()));
  }
  static void Open311Error(Exchange& ex, open311::Format format, const Status& s,
                           http::status status) {
    SendOpen311(ex, format, status,
                open311::Errors(static_cast<int>(status), ValidUtf8(s.message())));
  }

  void Handle(Exchange& ex) {
    if (Segment(ex.path(), 1) != "v2") {
      return ex.Fail(NotFound("no such route; Open311 is at /open311/v2/"));
    }
    const std::vector<std::string> rest(ex.path().begin() + 2, ex.path().end());
    if (rest.size() == 2 && rest[0] == "media") return GetPhoto(ex, rest[1]);
    open311::Target t;
    if (Status s = open311::ParseTarget(rest, t); !s.ok()) return Open311Error(ex, t.format, s);
    const auto method = ex.request().method();
    const bool get = method == http::verb::get;
    if (t.resource == "servicerequestupdates") {
      if (method == http::verb::post) return PostUpdate(ex, t.format);
      if (!get) return ex.MethodNotAllowed("GET, POST");
      return GetUpdates(ex, t.format, std::string(ex.encoded_query()));
    }
    if (t.resource == "requests" && t.id.empty()) {
      if (method == http::verb::post) return PostRequest(ex, t.format);
      if (!get) return ex.MethodNotAllowed("GET, POST");
    } else if (!get) {
      return ex.MethodNotAllowed("GET");
    }
    auto catalog = Catalog();
    if (!catalog.ok()) return Open311Error(ex, t.format, catalog.status());
    if (t.resource == "requests") {
      return GetRequests(ex, t, **catalog, std::string(ex.encoded_query()));
    }
    // discovery, services, tokens: jurisdiction_id, and a token's key. Clients send more
    // (an api_key everywhere, device ids): ignored.
    std::string jurisdiction, api_key;
    for (const auto& p : ex.params()) {
      const bool key = t.resource == "tokens" && p.key == "api_key";
      if (p.key != "jurisdiction_id" && !key) {
        spdlog::debug("open311: unknown parameter {} ignored", std::string(p.key).substr(0, 100));
        continue;
      }
      (key ? api_key : jurisdiction) = p.value;
    }
    if (Status s = CheckJurisdiction(ex, jurisdiction); !s.ok())
      return Open311Error(ex, t.format, s);
    if (t.resource == "discovery") {
      const auto host = ex.request()[http::field::host];
      auto record = engine_.ActiveRulesRecord();
      const std::string changeset =
          record.ok() && *record ? FormatRfc3339((*record)->at) : FormatRfc3339(ex.clock().Now());
      return SendOpen311(
          ex, t.format, http::status::ok,
          open311::Discovery("http://" + std::string(host) + "/open311/v2", changeset));
    }
    if (t.resource == "services") {
      if (t.id.empty())
        return SendOpen311(ex, t.format, http::status::ok, open311::Services(**catalog));
      const auto* service = (*catalog)->FindCategory(t.id);
      if (!service)
        return Open311Error(ex, t.format, NotFound("service_code " + t.id + " was not found"));
      return SendOpen311(ex, t.format, http::status::ok,
                         open311::ServiceDefinition(**catalog, *service));
    }
    // tokens/{token}: wangge answers every POST at once, so a token is the request's id.
    auto reader = Open311Reader(ex, api_key);
    if (!reader.ok()) return Open311Error(ex, t.format, reader.status());
    auto c = FindOpen311(*reader, t.id);
    if (!c.ok()) return Open311Error(ex, t.format, c.status());
    if (!*c || (*c)->report.channel != "open311") {
      return Open311Error(ex, t.format, NotFound("token " + t.id + " was not found"));
    }
    SendOpen311(ex, t.format, http::status::ok, open311::Token(t.id));
  }

  static Status CheckJurisdiction(Exchange& ex, const std::string& id) {
    if (id.empty() || id == ex.options().jurisdiction) return Status::Ok();
    return NotFound("jurisdiction_id " + id + " was not found");
  }

  // An api_key (or a bearer token) names a wangge actor; none is anonymous.
  static Result<std::optional<engine::Actor>> Open311Actor(Exchange& ex,
                                                           const std::string& api_key) {
    std::string key = api_key;
    if (key.empty()) {
      const auto auth = ex.request()[http::field::authorization];
      if (auth.starts_with("Bearer ")) key = std::string(auth.substr(7));
    }
    if (key.empty()) return std::optional<engine::Actor>();
    auto actor = ex.FindActor(key);
    if (!actor) return PermissionDenied("api_key is not valid");
    return actor;
  }

  // Who reads: the actor of the api_key (or bearer token); nullopt for a caller without
  // one, which only a server with open311_public lets read. kUnauthenticated otherwise.
  static Result<std::optional<engine::Actor>> Open311Reader(Exchange& ex,
                                                            const std::string& api_key) {
    WANGGE_ASSIGN_OR_RETURN(auto actor, Open311Actor(ex, api_key));
    if (!actor && !ex.options().open311_public) {
      return Status(StatusCode::kUnauthenticated, "api_key is required to read requests");
    }
    return actor;
  }

  // A keyed reader sees what their role may see (engine/access.h); a public reader the
  // requests that came in through Open311.
  // Where this server serves the photos of requests and updates.
  static std::string MediaBase(Exchange& ex) {
    return "http://" + std::string(ex.request()[http::field::host]) + "/open311/v2/media/";
  }

  static bool Open311Visible(const std::optional<engine::Actor>& reader, const engine::Case& c) {
    return reader ? engine::MaySee(*reader, c) : c.report.channel == "open311";
  }

  static std::string Open311Address(const std::optional<engine::Actor>& reader,
                                    const engine::Case& c) {
    return std::string(reader ? engine::CaseAddress(*reader, c) : std::string_view(c.id));
  }

  // The request `reader` means by `id`, or nullopt when there is none they may see.
  Result<std::optional<engine::Case>> FindOpen311(const std::optional<engine::Actor>& reader,
                                                  const std::string& id) {
    if (reader) return engine_.FindCase(*reader, id);
    WANGGE_ASSIGN_OR_RETURN(auto c, engine_.GetCase(id));
    if (c && !Open311Visible(reader, *c)) c.reset();
    return c;
  }

  // The POSTed form, or nullopt once the error is answered. A multipart form may be as
  // large as a photo; any other keeps to the server's body limit.
  static std::optional<open311::Form> ReadPostedForm(Exchange& ex, open311::Format format) {
    const auto field = ex.request()[http::field::content_type];
    const std::string_view type(field.data(), field.size());
    const std::string_view body = ex.request().body();
    // An empty body is an empty form, whatever its type says.
    auto form = open311::ReadForm(body.empty() ? std::string_view() : type, body);
    if (!form.ok()) {
      Open311Error(ex, format, form.status());
      return std::nullopt;
    }
    const size_t limit = ex.options().max_body_bytes;
    if (!form->photo && body.size() > limit) {
      Open311Error(ex, format, InvalidArgument("request body too large"),
                   http::status::payload_too_large);
      return std::nullopt;
    }
    return std::move(*form);
  }

  // The media of /open311/v2/media/{sha256}: the photo of a request or update, to a reader
  // who may see its request under Open311's rules.
  void GetPhoto(Exchange& ex, const std::string& hash) {
    const auto method = ex.request().method();
    if (method != http::verb::get) return ex.MethodNotAllowed("GET");
    std::string api_key;
    if (auto it = ex.params().find("api_key"); it != ex.params().end()) {
      api_key = std::string((*it).value);
    }
    auto reader = Open311Reader(ex, api_key);
    if (!reader.ok()) return ex.Fail(reader.status());
    ServePhoto(ex, engine_, hash,
               [reader = *reader](const engine::Case& c) { return Open311Visible(reader, c); });
  }

  // Stores the form's photo, if any, then calls `next` with its hash (empty without one),
  // on the exchange's executor. A refused photo is answered here.
  void WithPhoto(Exchange& ex, open311::Format format, const engine::Actor& actor,
                 std::optional<std::string> photo,
                 std::function<void(Exchange&, std::string)> next) {
    if (!photo) return next(ex, "");
    if (actor.role != engine::Role::kWorker && actor.role != engine::Role::kHandler) {
      return Open311Error(ex, format,
                          PermissionDenied("only grid workers and office handlers upload media"));
    }
    StorePhoto(ex, engine_, std::move(*photo),
               [format, next = std::move(next)](Exchange& e, const Result<std::string>& hash,
                                                http::status code) {
                 if (!hash.ok()) return Open311Error(e, format, hash.status(), code);
                 next(e, *hash);
               });
  }

  void PostRequest(Exchange& ex, open311::Format format) {
    auto form = ReadPostedForm(ex, format);
    if (!form) return;
    auto catalog = Catalog();
    if (!catalog.ok()) return Open311Error(ex, format, catalog.status());
    open311::PostedRequest posted;
    Status parsed = open311::ParsePostedRequest(std::move(form->fields), **catalog, posted);
    // The key is checked next: without a valid one, nothing more about the body is said.
    auto actor = Open311Actor(ex, posted.api_key);
    if (!actor.ok()) return Open311Error(ex, format, actor.status());
    if (!*actor) return Open311Error(ex, format, PermissionDenied("api_key is required to post"));
    if ((*actor)->role != engine::Role::kWorker) {
      return Open311Error(ex, format,
                          PermissionDenied("this api_key may not post requests (role " +
                                           std::string(engine::RoleName((*actor)->role)) + ")"));
    }
    if (Status s = CheckJurisdiction(ex, posted.jurisdiction_id); !s.ok())
      return Open311Error(ex, format, s);
    if (!parsed.ok()) return Open311Error(ex, format, parsed);
    const auto key = ex.request()["Idempotency-Key"];
    if (key.size() > 255) {
      return Open311Error(ex, format, InvalidArgument("Idempotency-Key is longer than 255 bytes"));
    }
    engine::Report report = std::move(posted.report);
    report.client_id = open311::RequestId((*actor)->id, std::string_view(key.data(), key.size()));
    report.reported_at = ex.clock().Now();
    WithPhoto(ex, format, **actor, std::move(form->photo),
              [this, format, actor = **actor, report = std::move(report), catalog = *catalog](
                  Exchange& e, std::string hash) mutable {
                if (!hash.empty()) {
                  report.media = {std::move(hash)};
                  ++report.attachments;
                }
                SubmitRequest(e, format, std::move(actor), std::move(report), catalog);
              });
  }

  void SubmitRequest(Exchange& ex, open311::Format format, engine::Actor actor,
                     engine::Report report, std::shared_ptr<const open311::Catalog> catalog) {
    Submit(ex, sink_, engine::Command{std::move(actor), std::nullopt, std::move(report)}, "", "",
           [format, catalog = std::move(catalog)](Exchange& e, Result<wire::Accepted> r) {
             if (!r.ok()) return Open311Error(e, format, r.status());
             const engine::Case& c = r->outcome->state;
             const std::string notice =
                 catalog->OfficeName(c.office) + "办理，期限 " + FormatRfc3339(c.deadline);
             SendOpen311(e, format, http::status::ok, open311::Posted(c.report.client_id, notice));
           });
  }

  // POST servicerequestupdates: a comment, a photo or both on a request the poster may see,
  // recorded as a comment on its case; the answer names the update's id.
  void PostUpdate(Exchange& ex, open311::Format format) {
    auto form = ReadPostedForm(ex, format);
    if (!form) return;
    open311::PostedUpdate posted;
    Status parsed =
        open311::ParsePostedUpdate(std::move(form->fields), form->photo.has_value(), posted);
    auto actor = Open311Actor(ex, posted.api_key);
    if (!actor.ok()) return Open311Error(ex, format, actor.status());
    if (!*actor) return Open311Error(ex, format, PermissionDenied("api_key is required to post"));
    if (!engine::RoleMayAct((*actor)->role, engine::Action::kComment)) {
      return Open311Error(ex, format,
                          PermissionDenied("this api_key may not post updates (role " +
                                           std::string(engine::RoleName((*actor)->role)) + ")"));
    }
    if (Status s = CheckJurisdiction(ex, posted.jurisdiction_id); !s.ok())
      return Open311Error(ex, format, s);
    if (!parsed.ok()) return Open311Error(ex, format, parsed);
    engine::Transition comment = std::move(posted.comment);
    if (comment.key.empty()) {
      const auto header = ex.request()["Idempotency-Key"];
      if (header.size() > 200) {
        return Open311Error(ex, format,
                            InvalidArgument("Idempotency-Key is longer than 200 bytes"));
      }
      comment.key = std::string(header);
    }
    // Looked up first, so that no photo is stored for a request the poster cannot see.
    auto c = FindOpen311(*actor, posted.service_request_id);
    if (!c.ok()) return Open311Error(ex, format, c.status());
    if (!*c) {
      return Open311Error(
          ex, format,
          NotFound("service_request_id " + posted.service_request_id + " was not found"));
    }
    comment.case_id = posted.service_request_id;
    WithPhoto(ex, format, **actor, std::move(form->photo),
              [this, format, actor = **actor, comment = std::move(comment)](
                  Exchange& e, std::string hash) mutable {
                if (!hash.empty()) comment.media = {std::move(hash)};
                Submit(e, sink_,
                       engine::Command{std::move(actor), std::nullopt, std::move(comment)}, "", "",
                       [format](Exchange& x, Result<wire::Accepted> r) {
                         if (!r.ok()) return Open311Error(x, format, r.status());
                         SendOpen311(x, format, http::status::ok,
                                     open311::UpdatePosted(r->outcome->seq.value));
                       });
              });
  }

  void GetRequests(Exchange& ex, const open311::Target& t, const open311::Catalog& catalog,
                   const std::string& query) {
    open311::Query q;
    if (Status s = open311::ParseQuery(query, ex.clock().Now(), q); !s.ok()) {
      return Open311Error(ex, t.format, s);
    }
    if (Status s = CheckJurisdiction(ex, q.jurisdiction_id); !s.ok())
      return Open311Error(ex, t.format, s);
    auto actor = Open311Reader(ex, q.api_key);
    if (!actor.ok()) return Open311Error(ex, t.format, actor.status());
    std::vector<open311::Node> found;
    if (!t.id.empty()) q.ids = {t.id};
    if (!q.ids.empty()) {
      for (const auto& id : q.ids) {
        auto c = FindOpen311(*actor, id);
        if (!c.ok()) return Open311Error(ex, t.format, c.status());
        if (*c) {
          found.push_back(
              open311::RequestNode(**c, catalog, Open311Address(*actor, **c), MediaBase(ex)));
        }
      }
      if (!t.id.empty() && found.empty()) {
        return Open311Error(ex, t.format,
                            NotFound("service_request_id " + t.id + " was not found"));
      }
      return SendOpen311(ex, t.format, http::status::ok, open311::Requests(std::move(found)));
    }
    auto listed = List(ex, *actor, q, catalog);
    if (!listed.ok()) return Open311Error(ex, t.format, listed.status());
    SendOpen311(ex, t.format, http::status::ok, open311::Requests(std::move(*listed)));
  }

  // The listing of the cases `reader` may see through the indexes: the Open311 id range
  // for a public reader, a worker's own reports, a handler's office. Open311Visible still
  // judges each case.
  static engine::CaseQuery CasesOf(Exchange& ex, const std::optional<engine::Actor>& reader) {
    engine::CaseQuery list;
    list.as_of = ex.clock().Now();
    list.limit = 500;
    if (!reader) list.id_prefix = open311::kIdPrefix;
    if (reader && reader->role == engine::Role::kWorker) list.reporter = reader->id;
    if (reader && reader->role == engine::Role::kHandler) list.office = reader->office;
    return list;
  }

  // Walks the cases the caller may see (the Open311 id range for a public reader)
  // received in the window, and returns page `q.page` of the matches, newest first by
  // requested_datetime (then by id). Keeps the newest page × page_size seen so far.
  Result<std::vector<open311::Node>> List(Exchange& ex, const std::optional<engine::Actor>& actor,
                                          const open311::Query& q,
                                          const open311::Catalog& catalog) {
    engine::CaseQuery list = CasesOf(ex, actor);
    list.from_day = ShanghaiDay(q.start);
    list.to_day = ShanghaiDay(q.end);
    const size_t depth = q.page * q.page_size;
    // A min-heap on (received_at, id): its top is the oldest kept, dropped first.
    auto newer = [](const engine::Case& a, const engine::Case& b) {
      return std::tie(a.received_at.ms, a.id) > std::tie(b.received_at.ms, b.id);
    };
    std::vector<engine::Case> kept;
    for (int calls = 0; calls < kMaxOpen311Scans; ++calls) {
      WANGGE_ASSIGN_OR_RETURN(engine::CasePage page, engine_.ListCases(list));
      for (engine::Case& c : page.cases) {
        if (c.received_at < q.start || c.received_at > q.end || !Open311Visible(actor, c)) continue;
        if (!q.service_codes.empty() && !q.service_codes.contains(c.report.category)) continue;
        if (q.open && *q.open != c.open()) continue;
        kept.push_back(std::move(c));
        std::push_heap(kept.begin(), kept.end(), newer);
        if (kept.size() > depth) {
          std::pop_heap(kept.begin(), kept.end(), newer);
          kept.pop_back();
        }
      }
      if (page.next.empty()) {
        std::sort(kept.begin(), kept.end(), newer);
        std::vector<open311::Node> out;
        for (size_t i = (q.page - 1) * q.page_size; i < kept.size(); ++i) {
          out.push_back(open311::RequestNode(kept[i], catalog, Open311Address(actor, kept[i]),
                                             MediaBase(ex)));
        }
        return out;
      }
      list.after = page.next;
    }
    return Unavailable("the search examined too many cases; narrow it (service_code, dates)");
  }
  static constexpr int kMaxOpen311Scans = 200;  // ListCases calls: 2M index entries

  // GET servicerequestupdates: the updates of the requests the caller may see, in the
  // window, newest first, at most kMaxUpdates.
  void GetUpdates(Exchange& ex, open311::Format format, const std::string& query) {
    open311::UpdatesQuery q;
    if (Status s = open311::ParseUpdatesQuery(query, ex.clock().Now(), q); !s.ok()) {
      return Open311Error(ex, format, s);
    }
    if (Status s = CheckJurisdiction(ex, q.jurisdiction_id); !s.ok())
      return Open311Error(ex, format, s);
    auto reader = Open311Reader(ex, q.api_key);
    if (!reader.ok()) return Open311Error(ex, format, reader.status());
    auto updates = ListUpdates(ex, *reader, q, MediaBase(ex));
    if (!updates.ok()) return Open311Error(ex, format, updates.status());
    SendOpen311(ex, format, http::status::ok, open311::Updates(std::move(*updates)));
  }

  // Walks the cases the caller may see that were received by the window's end and
  // changed since its start, and reads the history of each.
  Result<std::vector<open311::Node>> ListUpdates(Exchange& ex,
                                                 const std::optional<engine::Actor>& reader,
                                                 const open311::UpdatesQuery& q,
                                                 const std::string& media_base) {
    engine::CaseQuery list = CasesOf(ex, reader);
    list.to_day = ShanghaiDay(q.end);
    struct Found {
      int64_t at;
      uint64_t seq;
      open311::Node node;
    };
    std::vector<Found> found;
    for (int calls = 0; calls < kMaxOpen311Scans; ++calls) {
      WANGGE_ASSIGN_OR_RETURN(engine::CasePage page, engine_.ListCases(list));
      for (const engine::Case& c : page.cases) {
        if (c.updated_at < q.start || c.received_at > q.end || !Open311Visible(reader, c)) continue;
        WANGGE_ASSIGN_OR_RETURN(auto steps, engine_.CaseHistory(c.id));
        for (const auto& step : steps) {
          const TimeMs at = step.record.at;
          if (at < q.start || at > q.end) continue;
          auto node =
              open311::UpdateNode(step.record, step.after, Open311Address(reader, c), media_base);
          if (node) found.push_back({at.ms, step.record.seq.value, std::move(*node)});
        }
      }
      // Only the newest kMaxUpdates are answered: keep no more than twice that.
      const auto newer = [](const Found& a, const Found& b) {
        return std::tie(a.at, a.seq) > std::tie(b.at, b.seq);
      };
      if (found.size() > 2 * open311::kMaxUpdates) {
        std::nth_element(found.begin(), found.begin() + open311::kMaxUpdates, found.end(), newer);
        found.resize(open311::kMaxUpdates);
      }
      if (page.next.empty()) {
        std::sort(found.begin(), found.end(), newer);
        std::vector<open311::Node> out;
        for (size_t i = 0; i < found.size() && i < open311::kMaxUpdates; ++i) {
          out.push_back(std::move(found[i].node));
        }
        return out;
      }
      list.after = page.next;
    }
    return Unavailable("the search examined too many cases; narrow the dates");
  }

 private:
  // The Open311 catalog of the active ruleset, rebuilt when another is activated.
  Result<std::shared_ptr<const open311::Catalog>> Catalog() {
    auto record = engine_.ActiveRulesRecord();
    if (!record.ok()) return record.status();
    if (!*record) return NotFound("no ruleset was ever activated");
    MutexLock lock(catalog_mu_);
    if (!catalog_ || catalog_seq_ != (*record)->seq.value) {
      const auto& a = std::get<engine::RulesActivation>((*record)->body);
      WANGGE_ASSIGN_OR_RETURN(open311::Catalog built, open311::CatalogFromRuleset(a.ruleset));
      catalog_ = std::make_shared<const open311::Catalog>(std::move(built));
      catalog_seq_ = (*record)->seq.value;
    }
    return catalog_;
  }

  engine::Engine& engine_;
  wire::CommandSink& sink_;
  Mutex catalog_mu_;
  uint64_t catalog_seq_ WANGGE_GUARDED_BY(catalog_mu_) = 0;
  std::shared_ptr<const open311::Catalog> catalog_ WANGGE_GUARDED_BY(catalog_mu_);
};

std::unique_ptr<Open311Routes> AddOpen311Routes(Routes& routes, engine::Engine& engine,
                                                wire::CommandSink& sink) {
  auto handlers = std::make_unique<Open311Handlers>(engine, sink);
  routes.push_back(
      {Route::kOpen311,
       [](const std::vector<std::string>& path) { return !path.empty() && path[0] == "open311"; },
       false,
       false,
       {},
       [h = handlers.get()](Exchange& ex) { h->Handle(ex); }});
  return std::unique_ptr<Open311Routes>(std::move(handlers));
}

}  // namespace wangge::ingest
