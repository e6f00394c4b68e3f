// Photos: PUT /v1/media/{sha256} (whole, or resumable in parts with Content-Range),
// HEAD for how much of an upload has arrived, GET for the bytes, a range of them or a
// thumbnail, to whoever may see a case that references the photo (docs/api.md "Media").
#include <charconv>
#include <variant>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/sha256.h"
#include "engine/access.h"
#include "ingest/handlers/handlers.h"
#include "ingest/image.h"
#include "ingest/media_ranges.h"
#include "ingest/server.h"
#include "wire/case_json.h"

namespace wangge::ingest {

namespace json = boost::json;
using engine::MediaInfo;

namespace {

// Hashing, decoding headers, thumbnails and waiting for durable writes: off the I/O
// threads. Two threads, as many as the machines wangge is sized for have cores.
boost::asio::thread_pool& MediaPool() {
  static boost::asio::thread_pool pool(2);
  return pool;
}

// Runs `work` on the media pool; it hands its answer to `answer`, then or later from another
// thread, exactly once, and the answer is sent from the connection's executor. The server's
// Stop waits for it.
using Answerer = std::function<void(Response)>;
void OffThread(Exchange& ex, std::function<void(Exchange&, Answerer)> work) {
  ex.WorkStarted();
  boost::asio::post(MediaPool(), [self = ex.Keep(), work = std::move(work)]() mutable {
    Exchange& e = *self;
    work(e, [self = std::move(self)](Response res) {
      self->Post([res = std::move(res)](Exchange& x) mutable { x.Send(std::move(res)); });
      self->WorkDone();
    });
  });
}
void OffThread(Exchange& ex, std::function<Response(Exchange&)> work) {
  OffThread(ex, [work = std::move(work)](Exchange& e, Answerer answer) { answer(work(e)); });
}

Response Answer(const Exchange& ex, http::status status, const json::value& body) {
  return Json(ex.request(), status, body);
}
Response Refuse(const Exchange& ex, const Status& s, std::optional<http::status> status = {}) {
  Response res = Error(ex.request(), s);
  if (status) res.result(*status);
  return res;
}

bool IsMediaPath(const std::vector<std::string>& path) {
  return path.size() == 3 && path[0] == "v1" && path[1] == "media";
}

Status CheckHashInPath(const std::vector<std::string>& path) {
  Status s = engine::ValidateMedia({path[2]});
  if (!s.ok())
    return InvalidArgument("the path must end in a SHA-256 in 64 lowercase hex digits", "sha256");
  return Status::Ok();
}

std::string Header(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

// Why a photo is refused, and the HTTP status that says so.
struct Refusal {
  Status status;
  http::status code;
};

// Checks a photo's bytes (`field` names them in errors): the refusal, or the metadata to
// store it with.
std::variant<Refusal, MediaInfo> CheckPhoto(const Exchange& ex, const std::string& body,
                                            const char* field) {
  ImageProbe probe = ProbeImage(body, ex.options().max_media_pixels);
  switch (probe.problem) {
    case ImageProblem::kType:
      return Refusal{InvalidArgument(probe.message, field), http::status::unsupported_media_type};
    case ImageProblem::kPixels:
      return Refusal{InvalidArgument(probe.message, field), http::status::unprocessable_entity};
    case ImageProblem::kMalformed:
      return Refusal{InvalidArgument(probe.message, field), http::status::bad_request};
    case ImageProblem::kNone:
      break;
  }
  probe.info.stored_at = ex.clock().Now();
  return probe.info;
}

// Checks a whole file: the refusal, or the photo's metadata to store it with.
std::variant<Response, MediaInfo> CheckWhole(const Exchange& ex, const std::string& hash,
                                             const std::string& body) {
  if (Sha256Hex(body) != hash) {
    return Refuse(ex, InvalidArgument("the body's SHA-256 is not the one in the path", "sha256"));
  }
  auto checked = CheckPhoto(ex, body, "body");
  if (auto* r = std::get_if<Refusal>(&checked)) return Refuse(ex, r->status, r->code);
  return std::get<MediaInfo>(checked);
}

// 201 when stored now, 200 when it already was.
Response Stored(const Exchange& ex, const std::string& hash, const MediaInfo& info,
                const Result<bool>& stored) {
  if (!stored.ok()) return Refuse(ex, stored.status());
  return Answer(ex, *stored ? http::status::created : http::status::ok,
                wire::MediaJson(hash, info));
}

// Checks and stores a whole file, waiting until it is durable.
Response StoreWhole(Exchange& ex, engine::Engine& engine, const std::string& hash,
                    std::string body) {
  auto checked = CheckWhole(ex, hash, body);
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  const auto& info = std::get<MediaInfo>(checked);
  return Stored(ex, hash, info, engine.StoreMedia(hash, std::move(body), info));
}

// The same, handing the answer over once the write is durable, so that a pool thread does
// not wait for the fsync and the uploads of many connections share one group commit.
void StoreWholeAsync(Exchange& ex, engine::Engine& engine, const std::string& hash,
                     std::string body, Answerer answer) {
  auto checked = CheckWhole(ex, hash, body);
  if (auto* refusal = std::get_if<Response>(&checked)) return answer(std::move(*refusal));
  auto info = std::get<MediaInfo>(checked);
  engine.StoreMedia(hash, std::move(body), info,
                    [&ex, hash, info, answer = std::move(answer)](Result<bool> stored) {
                      answer(Stored(ex, hash, info, stored));
                    });
}

// A part of a resumable upload; when it completes the file, the file is checked and stored
// as a whole one. 202 with what has arrived while parts are missing.
Response StorePart(Exchange& ex, engine::Engine& engine, const std::string& hash,
                   const ContentRange& range, std::string body) {
  if (range.last - range.first + 1 != body.size()) {
    return Refuse(
        ex, InvalidArgument("Content-Range says " + std::to_string(range.last - range.first + 1) +
                                " bytes but the body has " + std::to_string(body.size()),
                            "content-range"));
  }
  if (range.total > ex.options().max_media_bytes) {
    return Refuse(ex,
                  InvalidArgument("the file is over the limit of " +
                                      std::to_string(ex.options().max_media_bytes) + " bytes",
                                  "content-range"),
                  http::status::payload_too_large);
  }
  auto known = engine.GetStoredMedia(hash);
  if (!known.ok()) return Refuse(ex, known.status());
  if (*known) return Answer(ex, http::status::ok, wire::MediaJson(hash, **known));
  auto state = engine.AddUploadPart(hash, range.first, range.total, std::move(body));
  if (!state.ok()) return Refuse(ex, state.status());
  if (state->received < state->total) {
    Response res = Answer(
        ex, http::status::accepted,
        json::object{{"sha256", hash}, {"received", state->received}, {"total", state->total}});
    res.set("Upload-Offset", std::to_string(state->received));
    return res;
  }
  auto whole = engine.ReadUpload(hash);
  if (!whole.ok()) return Refuse(ex, whole.status());
  Response res = StoreWhole(ex, engine, hash, std::move(*whole));
  // Stored, or refused for good (its bytes will not change): the parts go either way.
  if (res.result() != http::status::service_unavailable &&
      res.result() != http::status::insufficient_storage) {
    if (Status s = engine.DropUpload(hash); !s.ok()) return Refuse(ex, s);
  }
  return res;
}

void Put(Exchange& ex, engine::Engine& engine) {
  const auto role = ex.actor().role;
  if (role != engine::Role::kWorker && role != engine::Role::kHandler) {
    return ex.Fail(PermissionDenied("only grid workers and office handlers upload media"));
  }
  const std::string hash = ex.path()[2];
  const std::string range_header = Header(ex.request(), http::field::content_range);
  std::optional<ContentRange> range;
  if (!range_header.empty()) {
    auto parsed = ParseContentRange(range_header);
    if (!parsed.ok()) return ex.Fail(parsed.status());
    range = *parsed;
  }
  // The request is not read again once its answer is made; its body moves to the store.
  if (range) {
    return OffThread(ex, [&engine, hash, range](Exchange& e) {
      return StorePart(e, engine, hash, *range, e.TakeBody());
    });
  }
  OffThread(ex, [&engine, hash](Exchange& e, Answerer answer) {
    StoreWholeAsync(e, engine, hash, e.TakeBody(), std::move(answer));
  });
}

// How much of `hash` has arrived: Upload-Offset (the whole size once stored).
void Head(Exchange& ex, engine::Engine& engine) {
  const std::string& hash = ex.path()[2];
  Response res{http::status::ok, ex.request().version()};
  res.keep_alive(ex.request().keep_alive());
  auto info = engine.GetStoredMedia(hash);
  if (!info.ok()) return ex.Fail(info.status());
  if (*info) {
    res.set("Upload-Offset", std::to_string((*info)->size));
    res.set("Upload-Length", std::to_string((*info)->size));
  } else {
    auto upload = engine.GetUpload(hash);
    if (!upload.ok()) return ex.Fail(upload.status());
    if (!*upload) return ex.Fail(NotFound("no upload of " + hash));
    res.set("Upload-Offset", std::to_string((*upload)->received));
    res.set("Upload-Length", std::to_string((*upload)->total));
  }
  res.set(http::field::cache_control, "no-store");
  res.content_length(0);
  ex.Send(std::move(res));
}

// Whether `may_see` lets the caller see a case that references `hash`.
Result<bool> MaySeeMedia(const engine::Engine& engine, const CaseFilter& may_see,
                         std::string_view hash) {
  WANGGE_ASSIGN_OR_RETURN(auto ids, engine.MediaCases(hash));
  for (const auto& id : ids) {
    WANGGE_ASSIGN_OR_RETURN(auto c, engine.GetCase(id));
    if (c && may_see(*c)) return true;
  }
  return false;
}

Response GetBytes(Exchange& ex, engine::Engine& engine, const std::string& hash,
                  const CaseFilter& may_see) {
  auto seen = MaySeeMedia(engine, may_see, hash);
  if (!seen.ok()) return Refuse(ex, seen.status());
  if (!*seen) return Refuse(ex, NotFound("no media " + hash));
  auto info = engine.GetMediaInfo(hash);
  if (!info.ok()) return Refuse(ex, info.status());
  if (!*info) return Refuse(ex, NotFound("no media " + hash));
  const std::string etag = "\"" + hash + "\"";
  const auto& req = ex.request();
  const std::string size_param = [&] {
    auto it = ex.params().find("size");
    return it == ex.params().end() ? std::string() : std::string((*it).value);
  }();
  Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::cache_control, "private, max-age=31536000, immutable");
  res.set(http::field::vary, "Authorization");
  if (!size_param.empty()) {
    int size = 0;
    auto r = std::from_chars(size_param.data(), size_param.data() + size_param.size(), size);
    if (r.ec != std::errc() || r.ptr != size_param.data() + size_param.size() || size < 16 ||
        size > 2048) {
      return Refuse(ex, InvalidArgument("size must be 16-2048 pixels", "size"));
    }
    const std::string thumb_etag = "\"" + hash + "-" + std::to_string(size) + "\"";
    if (Header(req, http::field::if_none_match) == thumb_etag) {
      res.result(http::status::not_modified);
      res.set(http::field::etag, thumb_etag);
      return res;
    }
    auto stored = engine.GetMediaThumbnail(hash, static_cast<uint16_t>(size));
    if (!stored.ok()) return Refuse(ex, stored.status());
    std::string jpeg;
    if (*stored) {
      jpeg = std::move(**stored);
    } else {
      auto bytes = engine.GetMediaBytes(hash);
      if (!bytes.ok()) return Refuse(ex, bytes.status());
      if (!*bytes) return Refuse(ex, DataLoss("media " + hash + " has metadata but no bytes"));
      auto made = Thumbnail(**bytes, size);
      // The photo decodes too slowly, or not at all: a property of its bytes, not the server.
      if (!made.ok()) return Refuse(ex, made.status(), http::status::unprocessable_entity);
      jpeg = std::move(*made);
      // Made once and kept; a failure to keep it costs only a remake next time.
      (void)engine.StoreMediaThumbnail(hash, static_cast<uint16_t>(size), jpeg);
    }
    res.set(http::field::etag, thumb_etag);
    res.set(http::field::content_type, "image/jpeg");
    res.body() = std::move(jpeg);
    res.prepare_payload();
    return res;
  }
  res.set(http::field::etag, etag);
  res.set(http::field::accept_ranges, "bytes");
  if (Header(req, http::field::if_none_match) == etag) {
    res.result(http::status::not_modified);
    return res;
  }
  auto bytes = engine.GetMediaBytes(hash);
  if (!bytes.ok()) return Refuse(ex, bytes.status());
  if (!*bytes) return Refuse(ex, DataLoss("media " + hash + " has metadata but no bytes"));
  res.set(http::field::content_type, (*info)->type);
  const std::string range = Header(req, http::field::range);
  if (!range.empty()) {
    auto span = ParseRange(range, (*bytes)->size());
    if (!span) {
      Response bad =
          Refuse(ex,
                 InvalidArgument("the range '" + range + "' cannot be served; the file has " +
                                     std::to_string((*bytes)->size()) + " bytes",
                                 "range"),
                 http::status::range_not_satisfiable);
      bad.set(http::field::content_range, "bytes */" + std::to_string((*bytes)->size()));
      return bad;
    }
    res.result(http::status::partial_content);
    res.set(http::field::content_range, "bytes " + std::to_string(span->first) + "-" +
                                            std::to_string(span->second) + "/" +
                                            std::to_string((*bytes)->size()));
    res.body() = (*bytes)->substr(span->first, span->second - span->first + 1);
  } else {
    res.body() = std::move(**bytes);
  }
  res.prepare_payload();
  return res;
}

void HandleMedia(Exchange& ex, engine::Engine& engine) {
  switch (ex.request().method()) {
    case http::verb::put:
      return Put(ex, engine);
    case http::verb::head:
      return Head(ex, engine);
    case http::verb::get: {
      // The one access policy: a case the caller may see references the photo.
      const engine::Actor actor = ex.actor();
      return ServePhoto(ex, engine, ex.path()[2],
                        [actor](const engine::Case& c) { return engine::MaySee(actor, c); });
    }
    default:
      return ex.MethodNotAllowed("GET, HEAD, PUT");
  }
}

}  // namespace

void StorePhoto(Exchange& ex, engine::Engine& engine, std::string bytes, PhotoThen then) {
  ex.WorkStarted();
  boost::asio::post(MediaPool(), [self = ex.Keep(), &engine, bytes = std::move(bytes),
                                  then = std::move(then)]() mutable {
    // Runs `then` on the connection's executor, once.
    auto finish = [self, then = std::move(then)](Result<std::string> hash, http::status code) {
      self->Post([then, hash = std::move(hash), code](Exchange& x) { then(x, hash, code); });
      self->WorkDone();
    };
    auto checked = CheckPhoto(*self, bytes, "media");
    if (auto* r = std::get_if<Refusal>(&checked)) return finish(r->status, r->code);
    const MediaInfo info = std::get<MediaInfo>(checked);
    std::string hash = Sha256Hex(bytes);
    engine.StoreMedia(hash, std::move(bytes), info,
                      [finish = std::move(finish), hash](Result<bool> stored) {
                        if (!stored.ok()) {
                          return finish(stored.status(), HttpStatusOf(stored.status().code()));
                        }
                        finish(hash, http::status::ok);
                      });
  });
}

void ServePhoto(Exchange& ex, engine::Engine& engine, std::string hash, CaseFilter may_see) {
  if (Status s = engine::ValidateMedia({hash}); !s.ok()) {
    return ex.Fail(
        InvalidArgument("a photo is named by its SHA-256 in 64 lowercase hex digits", "sha256"));
  }
  OffThread(ex, [&engine, hash = std::move(hash), may_see = std::move(may_see)](Exchange& e) {
    return GetBytes(e, engine, hash, may_see);
  });
}

void AddMediaRoutes(Routes& routes, engine::Engine& engine) {
  RouteEntry e;
  e.label = Route::kMedia;
  e.match = IsMediaPath;
  e.bearer = true;
  e.file_body = true;
  e.check_path = CheckHashInPath;
  e.handle = [&engine](Exchange& ex) { HandleMedia(ex, engine); };
  routes.push_back(std::move(e));
}

}  // namespace wangge::ingest
