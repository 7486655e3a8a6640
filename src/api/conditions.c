/*
 * conditions.c - GET /api/agent/conditions: the Lua conditions of the set in
 * force, each with where every subject stands. The definitions come from the
 * rule set (what loading wrote), the states from the monitor's copy of the
 * last reading's verdicts, so nothing here touches the detectors or the Lua
 * states the sampler thread owns.
 */
#include "api_internal.h"

#include <string.h>

static const char *state_name(const kt_mon_cond_state_t *s)
{
    return s->active ? "active" : s->over ? "holding" : "clear";
}

static json_t *subject_json(const kt_mon_cond_state_t *s)
{
    json_t *j = json_pack("{s:s s:s s:o s:i s:i s:s}", "subject", s->subject, "state",
                          state_name(s), "value", kt_json_num(s->value), "over", (int)s->over,
                          "hold", (int)s->hold, "message", s->message);
    json_object_set_new(j, "severity",
                        s->active ? json_string(kt_severity_name(s->severity)) : json_null());
    json_object_set_new(j, "since_ms", s->active ? json_integer(apr_time_as_msec(s->since))
                                                 : json_null());
    return j;
}

static void conditions_handler(kt_http_req_t *req, void *baton)
{
    kt_api_t *api = baton;
    kt_rules_t *r = kt__api_read_rules(api, req);
    if (!r)
        return;
    json_t *list = kt_rules_conditions_json(r);
    kt_rules_release(r);
    kt_mon_cond_state_t *states =
        apr_palloc(kt_http_pool(req), sizeof *states * KT_MON_MAX_VERDICTS);
    apr_time_t when = 0;
    unsigned n = kt_mon_condition_states(api->mon, states, KT_MON_MAX_VERDICTS, &when);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        const char *key = json_string_value(json_object_get(c, "key"));
        json_t *subjects = json_array();
        const char *error = NULL;
        for (unsigned k = 0; k < n; k++) {
            if (strcmp(states[k].key, key) != 0)
                continue;
            if (states[k].type == KT_EV_RULE_ERROR)
                error = states[k].message;
            else
                json_array_append_new(subjects, subject_json(&states[k]));
        }
        json_object_set_new(c, "enabled", json_boolean(!error));
        json_object_set_new(c, "error", error ? json_string(error) : json_null());
        json_object_set_new(c, "subjects", subjects);
        json_object_del(c, "key");
    }
    kt_http_reply_json(req, 200,
                       json_pack("{s:o s:o}", "conditions", list, "reading_ms",
                                 when ? json_integer(apr_time_as_msec(when)) : json_null()));
}

void kt__api_conditions_routes(kt_http_t *http, kt_api_t *api)
{
    kt_http_route(http, "GET", "/api/agent/conditions", conditions_handler, api);
}
