"""The report: tables a person reads, then one JSON line with everything, last, for tools
(`make bench | tail -1 | jq`)."""
import json

from bench import profile

ORDER = ["throughput", "latency", "fanout", "idle"]
MACHINE_WIDE = {"rabbitmq", "postgres_all", "machine"}


def _f(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _errors(s):
    parts = []
    if s.get("http_other"):
        parts.append(f"http4xx {s['http_other']}")
    for code, n in (s.get("graphql_errors") or {}).items():
        parts.append(f"{code} {n}")
    if s.get("connection_errors"):
        parts.append(f"conn {s['connection_errors']}")
    for key in ("no_user_free", "no_connection_free", "not_success", "http_200_not_json"):
        if (s.get("outcomes") or {}).get(key):
            parts.append(f"{key} {s['outcomes'][key]}")
    return ", ".join(parts) or "0"


def render(result):
    out = []
    stack = result["stack"]
    out.append(f"Chat benchmark: {stack['description']}")
    for note in result.get("notes", []):
        out.append(f"  note: {note}")
    scenarios = result.get("scenarios", {})

    load = [n for n in ORDER if n in scenarios and "error" not in scenarios[n] and n != "idle"]
    if load:
        out.append("")
        out.append("Scenarios (rates over each measured window; latency from createPost sent to each receipt, ms)")
        rows = []
        for name in load:
            s = scenarios[name]
            lat = s["latency_ms"]
            rows.append([
                name, s["mode"], _f(s["subscribers"]), _f(s["accepted_per_s"]), _f(s["stored_per_s"]),
                _f(s["deliveries_per_s"]), _f(lat["p50"]), _f(lat["p95"]), _f(lat["p99"]), _f(lat["max"]),
                _f(s["lost"]), _f(s["duplicated"]), _f(s["out_of_order"]), _f(s["http_5xx"]), _errors(s),
            ])
        out.append(_table(["scenario", "load", "subs", "accepted/s", "stored/s", "deliveries/s", "p50", "p95",
                           "p99", "max", "lost", "dup", "ooo", "5xx", "other errors"], rows))
        extra = []
        for name in load:
            s = scenarios[name]
            rtt = s["create_post_ms"]
            bits = [f"createPost answered p50 {_f(rtt['p50'])} / p99 {_f(rtt['p99'])} ms",
                    f"{_f(s['posts_accepted'])} accepted, {_f(s['posts_stored'])} stored, {_f(s['deliveries'])} delivered "
                    f"(drained {s['drain_s']} s after the window)",
                    f"web deliveries per web CPU-s {_f(s['web_deliveries_per_cpu_s'])}",
                    f"web CPU per createPost answered (its deliveries included) {_f(s.get('web_cpu_ms_per_create_post'), 2)} ms",
                    f"load generator used {s['loadgen_cpu_share']:.0%} of a core"]
            if s.get("db_sessions_per_post") is not None:
                bits.append(f"PostgreSQL sessions opened {_f(s['db_sessions_opened'])} ({_f(s['db_sessions_per_post'], 2)}/post), "
                            f"commits {_f(s['db_commits_per_post'], 2)}/post")
            if s.get("disconnected"):
                bits.append(f"disconnected: {s['disconnected']}")
            if s.get("subscribe_errors"):
                bits.append(f"subscribe errors: {s['subscribe_errors']}")
            if not s.get("drained"):
                bits.append("NOT DRAINED within --settle-timeout")
            if s.get("late_sends"):
                bits.append(f"{s['late_sends']} sends >10 ms late")
            if s.get("user_waits"):
                bits.append(f"{s['user_waits']} sends waited for a user under the rate limit (raise --users)")
            extra.append(f"  {name}: " + "; ".join(bits))
        out.extend(extra)

        procs = sorted({p for n in load for p in scenarios[n]["cpu_s"]}, key=_proc_order)
        out.append("")
        out.append("CPU per process, from /proc: ms per post | us per delivery (all CPU from the first send until every post")
        out.append("is stored and delivered, over all of them) | cores busy during the window.")
        out.append("* = machine-wide: other users of that server or of the machine count too; postgres = our database's backends")
        headers = ["process"]
        for name in load:
            headers += [f"{name} ms/post", "us/deliv", "cores"]
        rows = []
        for p in procs:
            row = [p + ("*" if p in MACHINE_WIDE else "")]
            for name in load:
                s = scenarios[name]
                row += [_f(s["cpu_ms_per_post"].get(p), 3), _f(s["cpu_us_per_delivery"].get(p), 1),
                        _f(s["cpu_share_in_window"].get(p), 2)]
            rows.append(row)
        out.append(_table(headers, rows))
        for name in load:
            if scenarios[name].get("profile"):
                out.append("")
                out.append(f"Profile of {name} (py-spy, on-CPU samples over the window; bench/profile.py)")
                out.append(profile.render(scenarios[name]["profile"]))

    if "idle" in scenarios and "error" not in scenarios["idle"]:
        s = scenarios["idle"]
        lat = s["latency_ms"]
        out.append("")
        out.append(f"Idle: {s['mode']}")
        out.append(
            f"  {_f(s['connections'])} connected in {s['connect_s']} s ({_f(s['connects_per_s'])}/s); "
            f"RSS {_f(s['rss_kib_before'])} -> {_f(s['rss_kib_after'])} KiB = {_f(s['rss_kib_per_connection'], 2)} KiB per connection; "
            f"idle CPU {s['idle_cpu_share'].get(s['web'], 0):.1%} of a core"
        )
        setup, busy = s["connect_cpu_ms_per_connection"], s["connect_cpu_share"]
        out.append(
            f"  connecting cost {s['web']} {_f(setup.get(s['web']), 2)} ms CPU per connection ({_f(busy.get(s['web']), 2)} cores busy), "
            f"postgres* {_f(setup.get('postgres_all'), 2)} ms, rabbitmq* {_f(setup.get('rabbitmq'), 2)} ms, "
            f"load generator {_f(busy.get('loadgen'), 2)} cores, machine* {_f(busy.get('machine'), 2)} cores"
        )
        out.append(
            f"  one post reached {_f(s['reached'])}/{_f(s['connections'])}: p50 {_f(lat['p50'])} p95 {_f(lat['p95'])} "
            f"p99 {_f(lat['p99'])} max {_f(lat['max'])} ms; lost {s['lost']}, duplicated {s['duplicated']}"
            + (f"; disconnected {s['disconnected']}" if s["disconnected"] else "")
            + (f"; subscribe errors {s['subscribe_errors']}" if s["subscribe_errors"] else "")
        )

    for name in ORDER:
        if "error" in scenarios.get(name, {}):
            out.append(f"\n{name}: FAILED: {scenarios[name]['error']}")

    floors = result.get("floors") or {}
    if floors:
        out.append("")
        out.append("Floors (same run, same broker)")
        f = floors.get("end_to_end")
        if f and "error" not in f:
            ms = f["cpu_ms_per_post"]
            out.append(
                f"  (d) a post's whole way, thin (raw ASGI + 2-stage Celery chain, the same writes), {f['in_flight']} in flight: "
                f"{_f(f['stored_per_s'])} stored/s; ms CPU per post: web {_f(ms.get('web'), 3)}, worker {_f(ms.get('worker'), 3)}, "
                f"rabbitmq* {_f(ms.get('rabbitmq'), 3)}, postgres {_f(ms.get('postgres'), 3)}, machine* {_f(ms.get('machine'), 3)}"
            )
        f = floors.get("celery_chain")
        if f and "error" not in f:
            out.append(
                f"  (a) no-op 2-stage Celery chain, {f['in_flight']} in flight: {_f(f['chains_per_s'])} chains/s, "
                f"worker {_f(f['cpu_ms_per_chain'].get('worker'), 3)} ms CPU/chain, rabbitmq* {_f(f['cpu_ms_per_chain'].get('rabbitmq'), 3)}, "
                f"latency p50 {_f(f['latency_ms']['p50'])} p99 {_f(f['latency_ms']['p99'])} ms, "
                f"machine* {_f(f['cpu_s'].get('machine', 0) / f['window_s'], 2)} cores busy"
            )
        for key, title in (("channels_fanout", "(b) raw channels_rabbitmq fan-out ({server} + raw ASGI app)"),
                           ("websockets_broadcast", "(c) bare websockets server, broadcast()")):
            f = floors.get(key)
            if f and "error" not in f:
                title = title.format(server=f.get("server", "?"))
                out.append(
                    f"  {title}: {_f(f['subscribers'])} subscribers x {f['rate']:g}/s: {_f(f['deliveries_per_cpu_s'])} deliveries per CPU-s "
                    f"({_f(f['cpu_us_per_delivery'].get('server'), 1)} us each), {_f(f['deliveries'])}/{_f(f['expected_deliveries'])} delivered, "
                    f"latency p50 {_f(f['latency_ms']['p50'])} p99 {_f(f['latency_ms']['p99'])} ms, {_f(f['rss_kib_per_connection'], 2)} KiB/connection, "
                    f"machine* {_f(f['cpu_s'].get('machine', 0) / f['window_s'], 2)} cores busy"
                )
        for key, f in floors.items():
            if "error" in f:
                out.append(f"  {key}: FAILED: {f['error']}")

    ratios = result.get("ratios") or {}
    if ratios:
        out.append("")
        out.append("Ours as ratios to the floors")
        for key, value in ratios.items():
            out.append(f"  {key}: {value}")

    logs = result.get("logs") or {}
    noisy = {k: v for k, v in logs.items() if v["errors"] or v["warnings"]}
    out.append("")
    if noisy:
        out.append("App logs (ERROR/traceback | WARNING lines):")
        for label, v in noisy.items():
            out.append(f"  {label}: {v['errors']} | {v['warnings']}  ({v['log']})")
            for sample in v["samples"]:
                out.append(f"      {sample}")
    elif logs:
        out.append("App logs: no ERROR, traceback or WARNING lines.")
    out.append(f"Logs: {result.get('log_dir')}   Took {result.get('took_s')} s")
    return "\n".join(out)


def _proc_order(name):
    order = ["web", "worker", "bot", "rabbitmq", "postgres", "postgres_all", "loadgen", "machine"]
    kind = name.rstrip("0123456789")  # web1, web2, ... worker1, worker2, ...
    return (order.index(kind) if kind in order else len(order), kind, int(name[len(kind):] or 0))


def ratios(result):
    """Our figures divided by the floors' (or the reverse where lower is better)."""
    scenarios, floors = result.get("scenarios", {}), result.get("floors", {})
    out = {}
    tp = scenarios.get("throughput", {})
    e2e = floors.get("end_to_end", {})
    if tp.get("stored_per_s") and e2e.get("stored_per_s"):
        out["posts stored/s / end-to-end floor's"] = round(tp["stored_per_s"] / e2e["stored_per_s"], 3)
        for process, theirs in (("machine", "machine"), ("web", "web"), ("worker", "worker"),
                                ("rabbitmq", "rabbitmq"), ("postgres", "postgres")):
            ours = (sum(v for k, v in tp["cpu_ms_per_post"].items() if k.startswith("web"))
                    if process == "web" else tp["cpu_ms_per_post"].get(process))
            floor = e2e["cpu_ms_per_post"].get(theirs)
            if ours and floor:
                out[f"{process} CPU per post / end-to-end floor's (x)"] = round(ours / floor, 2)
    chain = floors.get("celery_chain", {})
    if tp.get("stored_per_s") and chain.get("chains_per_s"):
        out["posts stored/s / no-op chains/s"] = round(tp["stored_per_s"] / chain["chains_per_s"], 3)
        ours, floor = tp["cpu_ms_per_post"].get("worker"), chain["cpu_ms_per_chain"].get("worker")
        if ours and floor:
            out["worker CPU per post / per no-op chain (x)"] = round(ours / floor, 2)
        ours, floor = tp["cpu_ms_per_post"].get("rabbitmq"), chain["cpu_ms_per_chain"].get("rabbitmq")
        if ours and floor:
            out["rabbitmq CPU per post / per no-op chain (x)"] = round(ours / floor, 2)
    fan = scenarios.get("fanout", {})
    for key, label in (("channels_fanout", "raw channels_rabbitmq"), ("websockets_broadcast", "bare websockets")):
        floor = floors.get(key, {})
        if fan.get("web_deliveries_per_cpu_s") and floor.get("deliveries_per_cpu_s"):
            out[f"fanout: web deliveries per CPU-s / {label} floor's"] = round(fan["web_deliveries_per_cpu_s"] / floor["deliveries_per_cpu_s"], 3)
    idle = scenarios.get("idle", {})
    for key, label in (("channels_fanout", "raw ASGI app"), ("websockets_broadcast", "bare websockets")):
        floor = floors.get(key, {})
        if idle.get("rss_kib_per_connection") and floor.get("rss_kib_per_connection"):
            out[f"RSS per idle connection / {label} floor's (x)"] = round(idle["rss_kib_per_connection"] / floor["rss_kib_per_connection"], 2)
    return out


def json_line(result):
    return json.dumps(result, separators=(",", ":"), default=str)
