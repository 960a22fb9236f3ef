-- proxytrace join in SQL: the rules, confidence and clock estimate of `proxytrace join`
-- (crates/proxytrace/src/commands/join), over the tables proxytrace writes.
--
-- Inputs (views or tables; docs/spark.md says how to make them):
--   requests           `proxytrace requests` on the BACK captures, plus a `sensor` column
--   connections        `proxytrace connections` on the BACK captures, plus `sensor`
--   syns               `proxytrace syns` on the FRONT captures
--   front_requests     `proxytrace requests` on the FRONT captures
--   front_connections  `proxytrace connections` on the FRONT captures
--   capture_files      (side 'front'|'back', path as in the rows' `file`, ordinal): each side's
--                      files in the order proxytrace reads them (first packet time)
-- Times are int64 nanoseconds since the epoch (Spark reads proxytrace's nanosecond Parquet
-- timestamps so with spark.sql.legacy.parquet.nanosAsLong=true).
--
-- Parameters, ${name}: window_ns (30 min), match_window_ns (5 s), connection_rows (TRUE when
-- the back-side requests run counted not_http_flows > 0: only then does `join` read the back
-- connections), clock_source (given|estimated), offset_ns (the given offset),
-- client_filter (a predicate on client_ip, TRUE for all), estimate_reach (2000000), and one
-- literal the dialects spell differently, empty_text_list: an empty array of strings (Spark
-- CAST(array() AS ARRAY<STRING>), DuckDB CAST([] AS VARCHAR[]), Trino CAST(ARRAY[] AS ARRAY(VARCHAR))).
--
-- Each block is one view, `-- view: NAME` then one SELECT, created in file order. Identifiers
-- are double-quoted (Spark: spark.sql.ansi.doubleQuotedIdentifiers=true).

-- view: front_syn
-- The index's SYNs: client SYNs (not SYN+ACKs), the client address canonical (IPv4-mapped
-- IPv6 as IPv4), each with its file's read order (the index's insertion order, `detail`,
-- breaks ties of equal time) and the connection's first FIN or RST.
SELECT
  s.*,
  CASE WHEN s.src_ip LIKE '::ffff:%.%.%.%' THEN substr(s.src_ip, 8) ELSE s.src_ip END AS ip,
  s.src_port AS port,
  s."time" AS ts,
  s.signature AS sig,
  f.ordinal AS file_ord,
  c.end_ts
FROM syns s
JOIN capture_files f ON f.side = 'front' AND f.path = s.file
LEFT JOIN (
  SELECT src_ip, src_port, dst_ip, dst_port, "time", min(end_time) AS end_ts
  FROM front_connections
  GROUP BY src_ip, src_port, dst_ip, dst_port, "time"
) c ON c.src_ip = s.src_ip AND c.src_port = s.src_port AND c.dst_ip = s.dst_ip
   AND c.dst_port = s.dst_port AND c."time" = s."time"
WHERE s.direction = 'syn';

-- view: front_req
-- Front request heads from addresses that sent a SYN, keyed by what a proxy passes on
-- unchanged: method, target, host, user agent.
SELECT
  CASE WHEN r.src_ip LIKE '::ffff:%.%.%.%' THEN substr(r.src_ip, 8) ELSE r.src_ip END AS ip,
  r.src_port AS port,
  r."time" AS ts,
  r.method, r.target, r.host, r.user_agent
FROM front_requests r
WHERE (CASE WHEN r.src_ip LIKE '::ffff:%.%.%.%' THEN substr(r.src_ip, 8) ELSE r.src_ip END)
      IN (SELECT ip FROM front_syn);

-- view: front_syn_seen
-- requests_seen: the SYN is the latest of its (ip, port) at or before some front request
-- (its connection showed a request head). end_ms: milliseconds from the SYN to the first FIN
-- or RST, rounded up (the index stores it so).
SELECT
  s.*,
  (l.file_ord IS NOT NULL) AS requests_seen,
  CASE WHEN s.end_ts IS NULL THEN NULL
       ELSE LEAST(GREATEST(CAST(CEIL((s.end_ts - s.ts) / 1000000.0) AS BIGINT), 0), 4294967294)
  END AS end_ms
FROM front_syn s
LEFT JOIN (
  SELECT DISTINCT file_ord, packet FROM (
    SELECT s.file_ord, s.packet,
           row_number() OVER (PARTITION BY q.ip, q.port, q.ts
                              ORDER BY s.ts DESC, s.file_ord DESC, s.packet DESC) AS rn
    FROM front_req q
    JOIN front_syn s ON s.ip = q.ip AND s.port = q.port AND s.ts <= q.ts
  ) x WHERE rn = 1
) l ON l.file_ord = s.file_ord AND l.packet = s.packet;

-- view: back_rows
-- Every back-side request, then (when the back side carried streams that are not HTTP) every
-- back connection that names its client but carried no request, shaped as a request row the
-- way `join` does (commands/join/back.rs).
SELECT
  r."time", r.file, r.packet, r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.method, r.host,
  r.target, r.http_version, r.user_agent, r.client_ip, r.client_port, r.identity_source,
  r.identity_basis, r.chain, r.xff, r.x_real_ip, r.forwarded, r.proxy_version, r.proxy_src,
  r.proxy_dst, r.spoof_suspect, r.spoof_reasons, r.p0f, r.request_on_connection, r.flags,
  r.status, r.response_head_bytes, r.response_body_bytes, r.response_body_framing,
  r.content_type, r.response_time_us, r.closed_after, r.response_missing,
  'http1' AS back_protocol, 0 AS kind, r.sensor AS back_sensor
FROM requests r
UNION ALL
SELECT
  c."time", c.file, c.packet, c.src_ip, c.src_port, c.dst_ip, c.dst_port, '', '', '', '', '',
  c.client_ip, c.client_port, c.identity_source,
  CASE WHEN c.identity_source = 'transparent' THEN 'configured' ELSE 'default_order' END,
  CASE WHEN c.identity_source = 'proxy_protocol' AND c.proxy_src IS NOT NULL THEN c.proxy_src
       ELSE coalesce(c.client_ip, '') END,
  '', '', '', c.proxy_version, c.proxy_src, c.proxy_dst, FALSE,
  ${empty_text_list}, ${empty_text_list}, 0, c.flags,
  NULL, NULL, NULL, NULL, '', NULL, NULL, NULL,
  c.protocol, 1, c.sensor
FROM connections c
WHERE ${connection_rows} AND c.client_ip IS NOT NULL AND c.http_requests = 0;

-- view: back_file_rows
SELECT b.*, f.ordinal AS file_ord
FROM back_rows b JOIN capture_files f ON f.side = 'back' AND f.path = b.file;

-- view: back_file_offsets
-- Rows before each (kind, file): request rows first, in file read order.
SELECT kind, file_ord,
       coalesce(sum(n) OVER (ORDER BY kind, file_ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
FROM (SELECT kind, file_ord, count(*) AS n FROM back_file_rows GROUP BY kind, file_ord) g;

-- view: back_keyed
-- ord: a row's place in the read (request rows 1..N as `join`'s estimate sees them: by file,
-- then time), unique, so also the row's id.
SELECT b.*,
  o.before + row_number() OVER (PARTITION BY b.kind, b.file_ord
                                ORDER BY b."time", b.packet, b.request_on_connection) AS ord,
  CASE WHEN b.client_ip LIKE '::ffff:%.%.%.%' THEN substr(b.client_ip, 8) ELSE b.client_ip END AS ip
FROM back_file_rows b
JOIN back_file_offsets o ON o.kind = b.kind AND o.file_ord = b.file_ord;

-- view: estimate_candidates
-- The clock estimate (commands/join/clock.rs): each request within reach is paired with the
-- one front request of its key and client within 10 min either way, or failing that with the
-- one SYN of the port it names; the difference is back time - front time.
SELECT b.ord,
  CASE WHEN q.n = 1 THEN 'request_match' WHEN s.n = 1 THEN 'exact_port' END AS source,
  CASE WHEN q.n = 1 THEN b."time" - q.ts WHEN s.n = 1 THEN b."time" - s.ts END AS diff
FROM back_keyed b
LEFT JOIN (
  SELECT b.ord, count(*) AS n, min(q.ts) AS ts
  FROM back_keyed b
  JOIN front_req q ON q.ip = b.ip AND q.method = b.method AND q.target = b.target
   AND q.host = b.host AND q.user_agent = b.user_agent
   AND q.ts BETWEEN b."time" - 600000000000 AND b."time" + 600000000000
  WHERE b.kind = 0 AND b.ord <= ${estimate_reach}
  GROUP BY b.ord
) q ON q.ord = b.ord
LEFT JOIN (
  SELECT b.ord, count(*) AS n, min(s.ts) AS ts
  FROM back_keyed b
  JOIN front_syn s ON s.ip = b.ip AND s.port = b.client_port
   AND s.ts BETWEEN b."time" - 600000000000 AND b."time" + 600000000000
  WHERE b.kind = 0 AND b.ord <= ${estimate_reach}
  GROUP BY b.ord
) s ON s.ord = b.ord
WHERE b.kind = 0 AND b.ord <= ${estimate_reach} AND (q.n = 1 OR s.n = 1);

-- view: estimate_stop
-- The read stops after the request that made 20,000 request pairs, or at the 2,000,000th
-- request (or the first pair after it) once there is any pair.
SELECT LEAST(
  coalesce((SELECT max(ord) FROM (
     SELECT ord, row_number() OVER (ORDER BY ord) AS k
     FROM estimate_candidates WHERE source = 'request_match') x WHERE k = 20000), 9223372036854775807),
  coalesce((SELECT GREATEST(min(ord), 2000000) FROM estimate_candidates), 9223372036854775807)
) AS stop_ord;

-- view: estimate_pairs
-- Request pairs when there are any, else port pairs.
SELECT e.diff, e.source
FROM estimate_candidates e CROSS JOIN estimate_stop t
WHERE e.ord <= t.stop_ord
  AND e.source = (SELECT max(source) FROM estimate_candidates c CROSS JOIN estimate_stop u
                  WHERE c.ord <= u.stop_ord);

-- view: estimate
-- The median, quartiles and 1st percentile at the nearest rank below, as clock.rs.
SELECT
  max(CASE WHEN k = FLOOR((n - 1) * 50 / 100) THEN diff END) AS offset_ns,
  max(CASE WHEN k = FLOOR((n - 1) * 75 / 100) THEN diff END)
    - max(CASE WHEN k = FLOOR((n - 1) * 25 / 100) THEN diff END) AS iqr_ns,
  max(CASE WHEN k = FLOOR((n - 1) * 50 / 100) THEN diff END)
    - max(CASE WHEN k = FLOOR((n - 1) * 1 / 100) THEN diff END) AS early_spread_ns,
  count(*) AS pairs,
  max(source) AS source
FROM (
  SELECT diff, source, row_number() OVER (ORDER BY diff) - 1 AS k, count(*) OVER () AS n
  FROM estimate_pairs
) p;

-- view: clock_estimated
-- Without pairs the offset is 0 and the slack the widest; the slack is the early spread
-- within [1 ms, 100 ms] (rules.rs clock_slack_ns).
SELECT
  coalesce(offset_ns, 0) AS offset_ns,
  CASE WHEN offset_ns IS NULL THEN 100000000
       ELSE LEAST(GREATEST(early_spread_ns, 1000000), 100000000) END AS slack_ns,
  coalesce(source, 'none') AS source, pairs, iqr_ns, early_spread_ns
FROM estimate;

-- view: clock_given
SELECT CAST(${offset_ns} AS BIGINT) AS offset_ns, CAST(1000000 AS BIGINT) AS slack_ns,
       'given' AS source, CAST(0 AS BIGINT) AS pairs, CAST(NULL AS BIGINT) AS iqr_ns,
       CAST(NULL AS BIGINT) AS early_spread_ns;

-- view: clock
SELECT * FROM clock_${clock_source};

-- view: join_input
-- The rows to join (the client filter applies here, after the estimate saw every request):
-- t is the request's time on the front clock.
SELECT b.*, b."time" - c.offset_ns AS t, c.slack_ns
FROM back_keyed b CROSS JOIN clock c
WHERE ${client_filter};

-- view: rule_exact_port
-- 1. The back side names the client's port: the latest SYN of (ip, port) from the window
--    before up to 100 ms after the corrected time.
SELECT ord, file_ord AS s_file_ord, packet AS s_packet FROM (
  SELECT b.ord, s.file_ord, s.packet,
         row_number() OVER (PARTITION BY b.ord
                            ORDER BY s.ts DESC, s.file_ord DESC, s.packet DESC) AS rn
  FROM join_input b
  JOIN front_syn_seen s ON s.ip = b.ip AND s.port = b.client_port
   AND s.ts BETWEEN b.t - ${window_ns} AND b.t + 100000000
  WHERE b.client_port IS NOT NULL AND b.identity_source <> 'transparent'
) x WHERE rn = 1;

-- view: request_match_last
-- 2. Front requests of the same key and client within the match window before (to 100 ms
--    after): the last one, when all are on one port.
SELECT ord, qts, qport FROM (
  SELECT b.ord, q.ts AS qts, q.port AS qport,
         row_number() OVER (PARTITION BY b.ord ORDER BY q.ts DESC, q.port DESC) AS rn,
         min(q.port) OVER (PARTITION BY b.ord) AS lo_port,
         max(q.port) OVER (PARTITION BY b.ord) AS hi_port
  FROM join_input b
  JOIN front_req q ON q.ip = b.ip AND q.method = b.method AND q.target = b.target
   AND q.host = b.host AND q.user_agent = b.user_agent
   AND q.ts BETWEEN b.t - ${match_window_ns} AND b.t + 100000000
  WHERE NOT EXISTS (SELECT 1 FROM rule_exact_port e WHERE e.ord = b.ord)
) x WHERE rn = 1 AND lo_port = hi_port;

-- view: request_match_syn
-- ... and that connection's SYN: the latest of (ip, port) within the window before it.
SELECT ord, s_file_ord, s_packet, s_sig FROM (
  SELECT l.ord, s.file_ord AS s_file_ord, s.packet AS s_packet, s.sig AS s_sig,
         row_number() OVER (PARTITION BY l.ord
                            ORDER BY s.ts DESC, s.file_ord DESC, s.packet DESC) AS rn
  FROM request_match_last l
  JOIN join_input b ON b.ord = l.ord
  JOIN front_syn_seen s ON s.ip = b.ip AND s.port = l.qport
   AND s.ts BETWEEN l.qts - ${window_ns} AND l.qts
) x WHERE rn = 1;

-- view: request_match_others
-- Other connections of the client that could have carried the request: opened in the window
-- up to the slack, requests invisible, not over before the match window; the latest first.
SELECT m.ord, o.sig,
       row_number() OVER (PARTITION BY m.ord
                          ORDER BY o.ts DESC, o.port DESC, o.file_ord DESC, o.packet DESC) AS k
FROM request_match_syn m
JOIN join_input b ON b.ord = m.ord
JOIN front_syn_seen o ON o.ip = b.ip AND o.ts BETWEEN b.t - ${window_ns} AND b.t + b.slack_ns
WHERE NOT o.requests_seen
  AND NOT (o.file_ord = m.s_file_ord AND o.packet = m.s_packet)
  AND (o.end_ms IS NULL OR o.ts + o.end_ms * 1000000 >= b.t - ${match_window_ns});

-- view: rule_request_match
-- Certain without others; else probable or ambiguous by the distinct fingerprints of the
-- match and the latest 10,000 others.
SELECT m.ord, m.s_file_ord, m.s_packet, coalesce(a.others, 0) AS others, g.sigs
FROM request_match_syn m
LEFT JOIN (SELECT ord, count(*) AS others FROM request_match_others GROUP BY ord) a ON a.ord = m.ord
JOIN (
  SELECT ord, count(DISTINCT sig) AS sigs FROM (
    SELECT ord, s_sig AS sig FROM request_match_syn
    UNION ALL
    SELECT ord, sig FROM request_match_others WHERE k <= 10000
  ) u GROUP BY ord
) g ON g.ord = m.ord;

-- view: rule_transparent
-- 3. --transparent: the latest SYN of the back-side source (ip, port).
SELECT ord, file_ord AS s_file_ord, packet AS s_packet FROM (
  SELECT b.ord, s.file_ord, s.packet,
         row_number() OVER (PARTITION BY b.ord
                            ORDER BY s.ts DESC, s.file_ord DESC, s.packet DESC) AS rn
  FROM join_input b
  JOIN front_syn_seen s ON s.ip = b.ip AND s.port = b.src_port
   AND s.ts BETWEEN b.t - ${window_ns} AND b.t + 100000000
  WHERE b.identity_source = 'transparent'
    AND NOT EXISTS (SELECT 1 FROM rule_exact_port e WHERE e.ord = b.ord)
    AND NOT EXISTS (SELECT 1 FROM rule_request_match m WHERE m.ord = b.ord)
) x WHERE rn = 1;

-- view: ip_time_candidates
-- 4. The as-of join: the client's SYNs from the window before up to the slack after the
--    corrected time, the latest first.
SELECT b.ord, s.file_ord, s.packet, s.ts, s.sig, b.t,
       row_number() OVER (PARTITION BY b.ord
                          ORDER BY s.ts DESC, s.port DESC, s.file_ord DESC, s.packet DESC) AS k
FROM join_input b
JOIN front_syn_seen s ON s.ip = b.ip AND s.ts BETWEEN b.t - ${window_ns} AND b.t + b.slack_ns
WHERE NOT EXISTS (SELECT 1 FROM rule_exact_port e WHERE e.ord = b.ord)
  AND NOT EXISTS (SELECT 1 FROM rule_request_match m WHERE m.ord = b.ord)
  AND NOT EXISTS (SELECT 1 FROM rule_transparent p WHERE p.ord = b.ord);

-- view: rule_ip_time
-- The latest, probable or ambiguous by the distinct fingerprints of the latest 10,000.
SELECT p.ord, p.file_ord AS s_file_ord, p.packet AS s_packet, g.sigs
FROM ip_time_candidates p
JOIN (SELECT ord, count(DISTINCT sig) AS sigs FROM ip_time_candidates WHERE k <= 10000 GROUP BY ord) g
  ON g.ord = p.ord
WHERE p.k = 1;

-- view: decided
SELECT b.ord,
  CASE WHEN b.client_ip IS NULL THEN 'no_identity'
       WHEN e.ord IS NOT NULL THEN 'exact_port'
       WHEN m.ord IS NOT NULL THEN 'request_match'
       WHEN p.ord IS NOT NULL THEN 'transparent'
       WHEN i.ord IS NOT NULL THEN 'ip_time'
       ELSE 'none' END AS join_method,
  CASE WHEN b.client_ip IS NULL THEN 'none'
       WHEN e.ord IS NOT NULL OR p.ord IS NOT NULL THEN 'certain'
       WHEN m.ord IS NOT NULL THEN
         CASE WHEN m.others = 0 THEN 'certain' WHEN m.sigs > 1 THEN 'ambiguous' ELSE 'probable' END
       WHEN i.ord IS NOT NULL THEN CASE WHEN i.sigs > 1 THEN 'ambiguous' ELSE 'probable' END
       ELSE 'none' END AS join_confidence,
  CASE WHEN b.client_ip IS NULL THEN 0
       WHEN e.ord IS NOT NULL OR p.ord IS NOT NULL THEN 1
       WHEN m.ord IS NOT NULL THEN m.sigs
       WHEN i.ord IS NOT NULL THEN i.sigs
       ELSE 0 END AS join_candidates,
  coalesce(e.s_file_ord, m.s_file_ord, p.s_file_ord, i.s_file_ord) AS s_file_ord,
  coalesce(e.s_packet, m.s_packet, p.s_packet, i.s_packet) AS s_packet
FROM join_input b
LEFT JOIN rule_exact_port e ON e.ord = b.ord AND b.client_ip IS NOT NULL
LEFT JOIN rule_request_match m ON m.ord = b.ord
LEFT JOIN rule_transparent p ON p.ord = b.ord
LEFT JOIN rule_ip_time i ON i.ord = b.ord;

-- view: join_rows
-- The rows of `proxytrace join`: the request's columns, the front connection, the SYN's
-- `syns` columns prefixed syn_ (its address canonical, as the index keeps it), the join's.
SELECT
  b."time", b.file, b.packet, b.src_ip, b.src_port, b.dst_ip, b.dst_port, b.method, b.host,
  b.target, b.http_version, b.user_agent, b.client_ip, b.client_port, b.identity_source,
  b.identity_basis, b.chain, b.xff, b.x_real_ip, b.forwarded, b.proxy_version, b.proxy_src,
  b.proxy_dst, b.spoof_suspect, b.spoof_reasons, b.p0f, b.request_on_connection, b.flags,
  b.status, b.response_head_bytes, b.response_body_bytes, b.response_body_framing,
  b.content_type, b.response_time_us, b.closed_after, b.response_missing,
  s.ip AS front_src_ip, s.src_port AS front_src_port, s.dst_ip AS front_dst_ip,
  s.dst_port AS front_dst_port, s."time" AS front_syn_time,
  s."time" AS syn_time, s.file AS syn_file, s.packet AS syn_packet, s.ip AS syn_src_ip,
  s.src_port AS syn_src_port, s.dst_ip AS syn_dst_ip, s.dst_port AS syn_dst_port,
  s.direction AS syn_direction, s.ip_version AS syn_ip_version, s.ttl AS syn_ttl,
  s.initial_ttl AS syn_initial_ttl, s.distance AS syn_distance,
  s.ip_options_len AS syn_ip_options_len, s.mss AS syn_mss, s."window" AS syn_window,
  s.window_form AS syn_window_form, s.window_scale AS syn_window_scale,
  s.olayout AS syn_olayout, s.option_kinds AS syn_option_kinds, s.quirks AS syn_quirks,
  s.payload AS syn_payload, s.signature AS syn_signature, s.df AS syn_df,
  s.ip_id AS syn_ip_id, s.ip_ecn AS syn_ip_ecn, s.tcp_ecn AS syn_tcp_ecn,
  s.ts_val AS syn_ts_val, s.ts_ecr AS syn_ts_ecr, s.payload_len AS syn_payload_len,
  s.link_mtu AS syn_link_mtu, s.link AS syn_link, s.syn_to_synack_ns AS syn_syn_to_synack_ns,
  s.synack_to_ack_ns AS syn_synack_to_ack_ns, s.retransmits AS syn_retransmits,
  s.p0f_ignores AS syn_p0f_ignores, s.uptime_hint_s AS syn_uptime_hint_s,
  s.ts_clock_hz AS syn_ts_clock_hz, s.os_label AS syn_os_label, s.os_class AS syn_os_class,
  s.os_name AS syn_os_name, s.os_flavor AS syn_os_flavor,
  s.match_quality AS syn_match_quality, s.match_distance AS syn_match_distance,
  d.join_method, d.join_confidence, CAST(d.join_candidates AS BIGINT) AS join_candidates,
  CASE WHEN s.ts IS NULL THEN NULL ELSE b.t - s.ts END AS join_delta_ns,
  b.back_protocol, b.back_sensor
FROM join_input b
JOIN decided d ON d.ord = b.ord
LEFT JOIN front_syn_seen s ON s.file_ord = d.s_file_ord AND s.packet = d.s_packet;
