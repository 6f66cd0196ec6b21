#include "sentinel_gateway/event_router.h"

#include "sentinel_gateway/citrix/catalogue.h"

namespace sg::ingest {

std::vector<RouteRule> DefaultRouteRules() {
  std::vector<RouteRule> rules;
  for (const citrix::Rule& r : citrix::Rules()) rules.push_back({std::string(r.pattern), std::string(r.family->base)});
  return rules;
}

Status EventRouter::Create(const RouterOptions& options, std::unique_ptr<EventRouter>* router) {
  if (options.default_route.empty()) {
    return Status::InvalidArgument("routes: the catch-all route must not be empty");
  }
  for (const RouteRule& r : options.rules) {
    if (r.event_type.empty() || r.event_type == "*") {
      return Status::InvalidArgument("routes: an event type pattern is empty (use the catch-all route)");
    }
    const size_t star = r.event_type.find('*');
    if (star != std::string::npos && star != r.event_type.size() - 1) {
      return Status::InvalidArgument("routes: '*' may only end an event type pattern: " + r.event_type);
    }
    if (r.route.empty()) {
      return Status::InvalidArgument("routes: event type " + r.event_type + " has an empty route");
    }
  }
  router->reset(new EventRouter(options));
  return Status::OK();
}

const std::string& EventRouter::RouteFor(std::string_view event_type) const {
  for (const RouteRule& r : options_.rules) {
    if (citrix::PatternMatches(r.event_type, event_type)) return r.route;
  }
  return options_.default_route;
}

}  // namespace sg::ingest
