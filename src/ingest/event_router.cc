#include "sentinel_gateway/event_router.h"

namespace sg {

std::vector<RouteRule> DefaultRouteRules() {
  return {
      {"userProfile*", "CitrixAnalytics_userProfile"},
      {"riskScoreChange", "CitrixAnalytics_riskScoreChange"},
      {"indicatorSummary", "CitrixAnalytics_indicatorSummary"},
      {"indicatorEventDetails", "CitrixAnalytics_indicatorEventDetails"},
      {"datasourceSPAEventDetails", "CitrixAnalytics_SPA_Events"},
      {"datasourceDPSEventDetails", "CitrixAnalytics_SPA_Events"},
      {"datasourceCVADEventDetails", "CitrixAnalytics_CVAD_Events"},
      {"datasourceCCCEventDetails", "CitrixAnalytics_CCC_Events"},
  };
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
    const std::string& pat = r.event_type;
    if (pat.back() == '*') {
      const std::string_view prefix(pat.data(), pat.size() - 1);
      if (event_type.substr(0, prefix.size()) == prefix) return r.route;
    } else if (event_type == pat) {
      return r.route;
    }
  }
  return options_.default_route;
}

}  // namespace sg
