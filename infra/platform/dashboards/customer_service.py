"""Customer service: what customers and tenants experience, from our services' metrics."""

from __future__ import annotations

from infra.platform.dashboards.builder import Dashboard, Panel, Query, Row, quantile_queries, rate, ratio

GATEWAY = 'service="gateway"'


def dashboard() -> Dashboard:
    traffic = Row(
        "Traffic and errors",
        [
            Panel(
                "Requests by service",
                "Requests served per second by each service, all routes.",
                [Query(rate("helpline_http_requests_total", by="service"), "{{service}}")],
                unit="reqps",
            ),
            Panel(
                "5xx ratio by service",
                "Share of responses that are server errors; the gateway's is an SLO (under 0.1%).",
                [
                    Query(
                        ratio(
                            rate("helpline_http_requests_total", 'status=~"5.."', "service"),
                            rate("helpline_http_requests_total", by="service"),
                        ),
                        "{{service}}",
                    )
                ],
                unit="percentunit",
                thresholds=[(0.001, "red")],
            ),
            Panel(
                "Gateway responses by status",
                "Everything customers and widgets received, by status code.",
                [Query(rate("helpline_http_requests_total", GATEWAY, "status"), "{{status}}")],
                unit="reqps",
                stack=True,
            ),
        ],
    )
    latency = Row(
        "Latency",
        [
            Panel(
                "Gateway latency",
                "Time to the end of the response (to the first byte for streams).",
                quantile_queries("helpline_http_request_duration_seconds", GATEWAY),
                unit="s",
            ),
            Panel(
                "Time to first token (customer view)",
                "From the customer's message to the first answer token; SLO: p99 under 500 ms.",
                quantile_queries("helpline_time_to_first_token_seconds", by="model"),
                unit="s",
                thresholds=[(0.5, "red")],
            ),
            Panel(
                "Open streams and requests in flight",
                "SSE streams open now and requests being served, per service.",
                [
                    Query("sum by (service) (helpline_active_streams)", "{{service}} streams"),
                    Query("sum by (service) (helpline_http_requests_in_flight)", "{{service}} in flight"),
                ],
            ),
        ],
    )
    degradation = Row(
        "Degradation ladder",
        [
            Panel(
                "Degradation level",
                "Chat's level per model and key tier (worst chat pod): 0 normal, 1 saturated (help-centre answers "
                "without generation), 2 chat model down (a fallback model answers), 3 everything down (messages "
                "kept for a person, status page linked). Alerts: ChatDegraded (10 min), ChatEverythingDown (2 min).",
                [Query("max by (model, tier) (helpline_degradation_level)", "{{model}} {{tier}}")],
                min=0,
                max=3,
                thresholds=[(1, "yellow"), (2, "orange"), (3, "red")],
                width=12,
            ),
            Panel(
                "Degraded answers",
                "Answers given on a degraded level per minute, by level and kind (extractive, fallback, "
                "message_taken) and the model that answered.",
                [
                    Query(
                        f"{rate('helpline_degraded_answers_total', by='model, level, kind')} * 60",
                        "{{level}} {{kind}} ({{model}})",
                    )
                ],
                stack=True,
                width=12,
            ),
        ],
    )
    conversations = Row(
        "Conversations",
        [
            Panel(
                "Rate-limit rejections",
                "Requests refused at the gateway, by key tier and the limit hit (requests, tokens, streams).",
                [Query(rate("helpline_rate_limit_rejections_total", by="tier, limit"), "{{tier}} {{limit}}")],
                unit="reqps",
                stack=True,
            ),
            Panel(
                "Handoffs to a human",
                "Conversations moved to waiting for an agent, by reason, per hour.",
                [Query(f"{rate('helpline_handoffs_total', by='reason')} * 3600", "{{reason}}")],
                unit="short",
                stack=True,
            ),
            Panel(
                "Feedback",
                "Thumbs up and down on assistant answers, and the share that is up.",
                [
                    Query(rate("helpline_feedback_total", by="rating"), "{{rating}}"),
                    Query(
                        ratio(rate("helpline_feedback_total", 'rating="up"'), rate("helpline_feedback_total")),
                        "share up",
                    ),
                ],
            ),
            Panel(
                "Conversation transitions",
                "Lifecycle moves (bot, waiting_human, with_agent, resolved, closed).",
                [Query(rate("helpline_conversation_transitions_total", by="to_status"), "{{to_status}}")],
                unit="ops",
                stack=True,
            ),
            Panel(
                "Engine calls by outcome",
                "The chat service's calls to the engine; error, timeout and circuit_open spend the availability SLO.",
                [Query(rate("helpline_engine_requests_total", by="model, outcome"), "{{model}} {{outcome}}")],
                unit="reqps",
                stack=True,
            ),
            Panel(
                "Tokens charged",
                "Prompt and completion tokens billed from engine usage, per model.",
                [Query(rate("helpline_tokens_total", by="model, kind"), "{{model}} {{kind}}")],
            ),
        ],
    )
    answers = "helpline_knowledge_answers_total"
    no_answer = rate(answers, 'outcome="no_answer"')
    knowledge = Row(
        "Knowledge (grounded answers)",
        [
            Panel(
                "Retrieval hit rate",
                "Share of bot answers grounded in the help centre (retrieved passages above the tenant's threshold, "
                "or a curated answer). Low: the help centre misses what customers ask, or the threshold is too strict.",
                [
                    Query(
                        ratio(rate(answers, 'outcome=~"grounded|curated"'), rate(answers)),
                        "hit rate",
                    )
                ],
                unit="percentunit",
            ),
            Panel(
                "No-answer rate",
                "Share of bot answers that said 'I can't answer that from our help centre' and offered a person.",
                [Query(ratio(no_answer, rate(answers)), "no answer")],
                unit="percentunit",
                thresholds=[(0.3, "red")],
            ),
            Panel(
                "Content gaps recorded",
                "Questions the help centre could not answer, per hour: each is listed for the tenant's admins "
                "(GET /v1/knowledge/gaps, most asked first).",
                [Query(f"{no_answer} * 3600", "gaps per hour")],
                unit="short",
            ),
            Panel(
                "Answers by grounding",
                "Bot answers per second: grounded in passages, curated (no model call), or no answer.",
                [Query(rate(answers, by="outcome"), "{{outcome}}")],
                unit="ops",
                stack=True,
            ),
            Panel(
                "Retrieval latency",
                "One retrieval for chat: query embedding, keyword and vector search, fusion.",
                quantile_queries("helpline_retrieval_duration_seconds", by="method"),
                unit="s",
            ),
        ],
    )
    return Dashboard(
        uid="helpline-customer-service",
        title="Helpline / Customer service",
        description="Requests, errors, latency, rate limits, handoffs and feedback as customers experience them.",
        rows=[traffic, latency, degradation, conversations, knowledge],
    )
