// The routes of an HTTP node in cluster mode (docs/scale-out.md): it takes reports and
// transitions and hands them to a sink that publishes them to the towns' log, adds up the
// towns' figures, and answers 501 on every route that reads cases, the log or files.
#pragma once

#include "ingest/exchange.h"
#include "wire/command_sink.h"

namespace wangge::ingest {

// `sink` and `figures` outlive the server the routes go to.
Routes NodeRoutes(wire::CommandSink& sink, wire::FiguresSource& figures);

}  // namespace wangge::ingest
