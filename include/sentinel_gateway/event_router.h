// EventRouter: decides the route (destination table) of an event from its `event_type`.
//
// Routes are configuration data: an ordered list of rules plus a catch-all route. A rule's
// `event_type` is either an exact type name or a prefix ending in '*' (`userProfile*`). The first
// matching rule wins, so put specific rules before broad ones. A route is the destination table's
// name; the drainer gives each table a lane.
//
// Guarantees: every event type maps to exactly one non-empty route. Thread safety: immutable after
// Create, safe to use from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/status.h"

namespace sg::ingest {

struct RouteRule {
  std::string event_type;  // exact type, or a prefix followed by '*'
  std::string route;       // destination table, non-empty
};

// The Citrix catalogue's rules (citrix/catalogue.h), routed to the tables' base names, which no
// layout uses as such: the gateway routes to the layout's tables (wiring's RouteRulesFor).
std::vector<RouteRule> DefaultRouteRules();
inline constexpr const char* kDefaultCatchAllRoute = citrix::kCatchAllBase;

struct RouterOptions {
  std::vector<RouteRule> rules = DefaultRouteRules();
  // Route of event types that no rule matches (and of events without a type when
  // require_event_type is false).
  std::string default_route = kDefaultCatchAllRoute;
};

class EventRouter {
 public:
  // InvalidArgument for an empty route, an empty event type pattern or a '*' anywhere but last.
  static Status Create(const RouterOptions& options, std::unique_ptr<EventRouter>* router);

  // The route of `event_type`; never empty.
  const std::string& RouteFor(std::string_view event_type) const;
  const std::string& default_route() const { return options_.default_route; }

 private:
  explicit EventRouter(RouterOptions options) : options_(std::move(options)) {}
  RouterOptions options_;
};

}  // namespace sg::ingest
