//! Nothing of the four source guides is dropped silently: every item they hold (flow step, status
//! code meaning, error-source layer, cause, common problem, visitor check, fix card, Cloudflare
//! code, checklist item, platform note, FAQ answer, example, prevention item, "what to send
//! support" item) is mapped to the step or outcome of the built-in runbook that covers it, with a
//! phrase that must appear there. The runbook says it in its own words; the phrase is ours.
//!
//! Run with `cargo test --test seed_coverage -- --nocapture` to see the whole list, item → step.
//! Review notes, author blurbs, feedback widgets and links to a vendor's own tools are not
//! content and have no row.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;

use triage::layer::Layer;
use triage::runbook::{
    Condition, Effect, EscalateTo, FixCard, Next, Outcome, OutcomeKind, Risk, Runbook, Severity,
    Step, SupportItem, Test, Who, builtin,
};

/// One item of a guide: what the guide says, the step or outcome that covers it, and a phrase
/// (case-insensitive) that must appear in that step's texts.
type Row = (&'static str, &'static str, &'static str);

/// seeds/000: "Fixing 502 Bad Gateway and 503 Service Unavailable Errors" (CheckDomainHealth).
#[rustfmt::skip]
const GUIDE_502_503: &[Row] = &[
    // Introduction and quick answer
    ("Intro: 502 and 503 are server-side errors", "confirm-public-error", "a 5xx is a server-side error"),
    ("Intro: the browser reached a server, proxy, CDN or balancer, but the site behind it failed", "confirm-public-error", "the browser reached something"),
    ("Intro: a 502 points at a broken link between gateway and origin", "confirm-public-error", "asked the upstream and got an invalid"),
    ("Intro: a 503 means overload, maintenance, rate limiting, resource limits or a failed service", "confirm-public-error", "overload, maintenance, rate limits, hosting limits"),
    ("Quick answer: check the CDN or proxy", "cdn-proxy", "check the cdn or proxy in front"),
    ("Quick answer: check the origin server", "origin", "check the origin server directly"),
    ("Quick answer: check the web server", "web-server-logs", "error log of nginx or apache"),
    ("Quick answer: check the PHP or app service", "app-runtime", "php-fpm, a node, python or ruby process"),
    ("Quick answer: check the database", "database", "check the database service runs"),
    ("Quick answer: check the firewall", "origin", "firewall rules"),
    ("Quick answer: check maintenance mode", "maintenance", "check for maintenance mode"),
    ("Quick answer: check resource limits", "resources", "check resources and limits"),
    // 502 and 503 errors, 502 vs 503
    ("502: a gateway got an invalid, broken or unexpected answer from upstream", "confirm-public-error", "invalid, broken or no usable response"),
    ("503: the server is unavailable, overloaded, in maintenance, rate-limited", "confirm-public-error", "the server is reachable but refuses for now"),
    ("The same error page for users; the fix depends on where the request fails", "identify-layer", "what to fix depends on the layer where the request breaks"),
    ("502 vs 503 table: what a 502 usually means", "identify-layer", "502: the gateway or proxy got no valid answer from upstream"),
    ("502 vs 503 table: the layers of a 502", "identify-layer", "502 comes from the cdn, the reverse proxy, the load balancer"),
    ("502 vs 503 table: typical causes of a 502", "identify-layer", "502 often comes from a down origin, a crashed php-fpm, an upstream timeout, a firewall block, a misconfigured proxy"),
    ("502 vs 503 table: what a 503 usually means", "identify-layer", "503: the server answers, but cannot serve the request right now"),
    ("502 vs 503 table: the layers of a 503", "identify-layer", "503 comes from the web or app server, hosting limits, maintenance mode or rate limiting"),
    ("502 vs 503 table: typical causes of a 503", "identify-layer", "503 often comes from overload, maintenance, resource limits, an unavailable app, exhausted workers"),
    // 502 causes
    ("502 cause: origin server down", "origin", "origin server down"),
    ("502 cause: PHP-FPM or app service stopped", "app-runtime", "php-fpm or the app service stopped"),
    ("502 cause: upstream timeout", "web-server-logs", "upstream timeout"),
    ("502 cause: firewall blocks the proxy or CDN", "origin", "firewall blocks the proxy or cdn"),
    ("502 cause: firewall blocks the proxy or CDN (from the CDN's side)", "cdn-proxy", "firewall blocks the proxy or cdn"),
    ("502 cause: wrong upstream address (port, socket, server)", "web-server-logs", "another host, port, socket"),
    ("502 cause: bad SSL between CDN and origin", "cdn-proxy", "bad ssl between cdn and origin"),
    ("502 cause: application crash (broken or incomplete responses)", "app-runtime", "responses come back cut off or broken"),
    ("502 cause: DNS to the origin changed", "cdn-proxy", "dns to the origin changed"),
    // 503 causes
    ("503 cause: server overload (CPU, RAM, disk I/O, database load)", "resources", "the cpu, ram, disk i/o or the database is saturated"),
    ("503 cause: hosting resource limits (shared hosting, CloudLinux)", "shared-hosting", "cloudlinux enforces them per account"),
    ("503 cause: maintenance mode (CMS, plugin, deploy, provider)", "maintenance", "a cms, plugin, deploy or provider maintenance returns 503"),
    ("503 cause: too many workers busy (PHP-FPM, Node, Python, web server)", "app-runtime", "every worker is taken (php-fpm's, node's, python's or the web server's)"),
    ("503 cause: rate limiting by WAF, CDN or application", "cdn-proxy", "waf, cdn or application rate limits"),
    ("503 cause: database unavailable", "database", "the application cannot connect to the database"),
    ("503 cause: plugin or theme failure", "wordpress", "plugin or theme failure"),
    ("503 cause: DDoS or traffic spike", "resources", "ddos or traffic spike"),
    // Error source
    ("Error source: identify which layer generated the error before fixing", "identify-layer", "every 5xx is made by some layer"),
    ("Error source layer: browser/client", "identify-layer", "browser or client"),
    ("Error source layer: CDN edge", "identify-layer", "cdn edge"),
    ("Error source layer: WAF/security layer", "identify-layer", "waf or security layer"),
    ("Error source layer: load balancer", "identify-layer", "load balancer"),
    ("Error source layer: reverse proxy", "identify-layer", "reverse proxy"),
    ("Error source layer: web server", "identify-layer", "web server (nginx, apache)"),
    ("Error source layer: application server", "identify-layer", "application server"),
    ("Error source layer: PHP-FPM/app runtime", "identify-layer", "php-fpm or another app runtime"),
    ("Error source layer: database", "identify-layer", "database: the app times out waiting"),
    ("Error source layer: origin hosting server", "identify-layer", "the origin hosting server itself"),
    ("Error pages reveal the layer: a CDN-branded 502 means CDN-to-origin failure", "identify-layer", "a cdn-branded 502 points at the link from cdn to origin"),
    ("Error pages reveal the layer: a hosting-branded 503 means limits or maintenance", "identify-layer", "a hosting-branded 503 points at account limits or maintenance"),
    // Why this matters
    ("Why: users, search engines and monitors cannot reach the site", "confirm-public-error", "visitors, search engines and uptime monitors"),
    ("Why: repeated 5xx hurt conversions, trust, uptime monitoring and crawling", "confirm-public-error", "cost conversions and trust, trip uptime monitoring and slow search engine crawling"),
    ("Why: investigate from the outside in", "confirm-public-error", "go from the outside in"),
    // How to diagnose (the order of checks)
    ("Diagnose: confirm the exact status, the final URL and whether it is consistent", "confirm-public-error", "follow redirects and note the final url"),
    ("Diagnose: test the affected page, not only the homepage", "confirm-public-error", "not only the home page"),
    ("Diagnose: confirm the error code (502, 503, 504 or another)", "confirm-public-error", "note the status code"),
    ("Diagnose: find the error source (CDN, proxy, host or app)", "identify-layer", "which layer generated the error"),
    ("Diagnose: CDN/proxy status, bypass the CDN or check the origin directly", "cdn-proxy", "bypass the cdn only for a test"),
    ("Diagnose: origin online and listening on HTTP/HTTPS", "origin", "the web server listens on http and https"),
    ("Diagnose: web server logs (nginx/Apache errors)", "web-server-logs", "read the web server's error log"),
    ("Diagnose: app runtime (PHP-FPM, Node, Python, Ruby)", "app-runtime", "check the app runtime (php-fpm, node, python, ruby)"),
    ("Diagnose: database connectivity and load", "database", "accepts the app's connections"),
    ("Diagnose: resource usage (CPU, RAM, disk, processes, workers, limits)", "resources", "processes and workers together"),
    // Common problems (their severities are checked in `common_problems_keep_their_severity`)
    ("Common problem: CDN cannot reach origin, next step", "cdn-proxy", "check the origin ip, the firewall rules, the cdn's origin settings and the ssl mode"),
    ("Common problem: PHP-FPM is down, next step", "app-runtime", "restart php-fpm, and check the worker and process limits"),
    ("Common problem: application timeout, next step", "app-runtime", "look at slow database queries, plugins, calls to external apis, and the timeouts"),
    ("Common problem: server overloaded, next step", "resources", "look at resource usage, traffic spikes and the hosting limits"),
    ("Common problem: maintenance mode active, next step", "maintenance", "disable maintenance mode after confirming the deploy finished correctly"),
    ("Common problem: database unavailable, next step", "database", "check the database service, the credentials, the socket or host, and the server load"),
    ("Common problem: firewall or WAF blocking traffic, next step", "cdn-proxy", "review the waf and firewall logs, and allow legitimate cdn and proxy ips"),
    ("Common problem: wrong proxy upstream, next step", "web-server-logs", "check the upstream host, port, socket and the service's status"),
    ("Common problem: shared hosting limits reached, next step", "shared-hosting", "review the hosting resource usage; optimise, or upgrade the plan"),
    // How to fix: the nine steps
    ("Fix step 1: confirm the public error; record status, URL and response source", "confirm-public-error", "write down the exact status, the final url and the time"),
    ("Fix step 2: CDN/proxy: origin settings, SSL mode, cache, WAF/firewall rules", "cdn-proxy", "check the ssl mode"),
    ("Fix step 3: origin answers directly on HTTP/HTTPS", "origin", "answer a direct request"),
    ("Fix step 4: web server logs for upstream, proxy, timeout or permission errors", "web-server-logs", "permission denied, a timeout, a reset"),
    ("Fix step 5: inspect and restart the app runtime", "app-runtime", "restart only the failed service"),
    ("Fix step 6: the database runs and is not overloaded", "database", "the database is overloaded"),
    ("Fix step 7: CPU, RAM, disk, I/O, workers, entry processes, account limits", "resources", "entry processes and account limits"),
    ("Fix step 8: disable the bad plugin or roll back the deployment", "rollback", "roll back the smallest recent change"),
    ("Fix step 9: monitor logs, response time and resources after recovery", "monitor", "watch response times and resource usage"),
    // Examples
    ("Example 1: 502 from the CDN, origin times out: the CDN cannot reach the origin", "cdn-proxy", "a direct request to the origin times out. the cdn cannot reach the origin"),
    ("Example 1 fix: origin status, firewall, CDN origin IP and SSL mode", "cdn-proxy", "its firewall, the cdn's origin ip and the ssl mode"),
    ("Example 2: 503 on shared hosting, entry processes limit and high CPU", "shared-hosting", "entry-process limit reached and cpu usage high"),
    ("Example 2 fix: plugin load, caching, bots, PHP/database, a bigger plan", "shared-hosting", "cut plugin load, cache pages, review bots, tune php and the database"),
    ("Example 3: nginx cannot connect to the PHP-FPM socket", "web-server-logs", "connect() to unix:/run/php/php8.2-fpm.sock failed"),
    ("Example 3 fix: restart PHP-FPM and verify fastcgi_pass", "web-server-logs", "restart php-fpm and check that fastcgi_pass names the real socket"),
    ("Examples are illustrative: review your real logs and stack first", "web-server-logs", "examples and commands are illustrative"),
    // Commands
    ("Command: check the public status (curl -I)", "confirm-public-error", "like curl -i"),
    ("Command: follow redirects (curl -IL)", "confirm-public-error", "curl -ss -i -l"),
    ("Command: systemctl status nginx / apache2", "origin", "systemctl status {{web_server}}"),
    ("Command: systemctl status php-fpm / php8.2-fpm (the unit found)", "app-runtime", "systemctl status {{php_unit}}"),
    ("Command: recent nginx errors (the log the config names)", "web-server-logs", "tail -n 200 {{error_log}}"),
    ("Command: recent Apache errors (the log the config names)", "web-server-logs", "error log of nginx or apache"),
    ("Command: disk (df -h)", "resources", "df -h"),
    ("Command: memory (free -m)", "resources", "free -m"),
    ("Command: load (uptime)", "resources", "uptime"),
    ("Command: processes (top)", "resources", "top -b -n 1"),
    ("Commands vary by operating system, control panel and stack", "origin", "commands differ between distributions, control panels and stacks"),
    ("Do not restart production services without understanding the impact", "resources", "don't restart services on a production server before you understand the impact"),
    // WordPress checks
    ("WordPress: 502/503 follow plugin updates, theme changes, traffic, PHP exhaustion", "wordpress", "follow a plugin or theme update, heavy traffic"),
    ("WordPress check: recently updated plugins", "wordpress", "recently updated plugins"),
    ("WordPress check: active theme errors", "wordpress", "errors in the active theme"),
    ("WordPress check: PHP fatal errors", "wordpress", "php fatal errors in the log"),
    ("WordPress check: maintenance mode file", "wordpress", "a left-over .maintenance file"),
    ("WordPress check: wp-config.php changes", "wordpress", "recent changes to wp-config.php"),
    ("WordPress check: database connection", "wordpress", "the database connection"),
    ("WordPress check: object/cache plugin", "wordpress", "an object-cache or page-cache plugin"),
    ("WordPress check: security plugin/WAF rules", "wordpress", "security plugin or waf rules"),
    ("WordPress check: PHP memory limit", "wordpress", "the php memory limit"),
    ("WordPress check: PHP-FPM worker limits", "wordpress", "php-fpm worker limits"),
    ("WordPress check: long-running admin-ajax requests", "wordpress", "long-running admin-ajax.php requests"),
    ("WordPress check: WooCommerce or cron load", "wordpress", "woocommerce or wp-cron load"),
    ("WordPress: after an update, disable the latest plugin/theme and read the logs first", "wordpress", "disable the latest plugin or theme and read the error log before changing anything else"),
    // Hosting checks
    ("Hosting: 503 when shared hosting limits are reached", "shared-hosting", "the host answers 503"),
    ("Hosting check: CPU usage", "shared-hosting", "cpu usage (speed)"),
    ("Hosting check: physical memory", "shared-hosting", "physical memory (pmem)"),
    ("Hosting check: virtual memory", "shared-hosting", "virtual memory (vmem)"),
    ("Hosting check: entry processes", "shared-hosting", "entry processes (ep)"),
    ("Hosting check: I/O usage", "shared-hosting", "i/o usage (io)"),
    ("Hosting check: IOPS", "shared-hosting", "iops"),
    ("Hosting check: number of processes", "shared-hosting", "number of processes (nproc)"),
    ("Hosting check: PHP errors", "shared-hosting", "php errors"),
    ("Hosting check: Apache/Nginx logs", "shared-hosting", "apache or nginx logs"),
    ("Hosting check: ModSecurity blocks", "shared-hosting", "modsecurity blocks"),
    ("Hosting check: account suspension or limits", "shared-hosting", "account suspension or limits"),
    ("Hosting: an account that keeps hitting limits needs optimising or a higher plan", "shared-hosting", "needs optimising or a bigger hosting plan"),
    // Server checks (VPS or dedicated)
    ("Server check: web server running", "origin", "web server running"),
    ("Server check: PHP-FPM/app service running", "origin", "php-fpm or the app service running"),
    ("Server check: database running", "origin", "database running"),
    ("Server check: disk space", "origin", "disk space left"),
    ("Server check: RAM/swap usage", "origin", "ram and swap usage"),
    ("Server check: CPU load", "origin", "cpu load"),
    ("Server check: firewall rules", "origin", "firewall rules"),
    ("Server check: fail2ban/WAF blocks", "origin", "fail2ban or waf blocks"),
    ("Server check: system logs", "origin", "system logs"),
    ("Server check: upstream socket/port", "origin", "upstream socket or port"),
    ("Server check: SSL certificate on origin", "origin", "ssl certificate on the origin"),
    ("Server check: proxy configuration", "origin", "proxy configuration"),
    ("Server: a 502 from nginx means the upstream service, socket or port misbehaves", "web-server-logs", "a 502 from nginx usually means the service, socket or port"),
    // FAQ
    ("FAQ: what does 502 Bad Gateway mean", "confirm-public-error", "502 bad gateway: something in front (a proxy, cdn, load balancer or gateway)"),
    ("FAQ: what does 503 Service Unavailable mean", "confirm-public-error", "503 service unavailable: the server is reachable"),
    ("FAQ: is 502 a DNS problem? usually not", "identify-layer", "is a 502 a dns problem? usually not"),
    ("FAQ: can a CDN cause 502 errors? yes", "cdn-proxy", "yes, a cdn can cause a 502"),
    ("FAQ: can WordPress cause 503 errors? yes", "wordpress", "can wordpress cause a 503? yes"),
    ("FAQ: what to check first: CDN/proxy, origin, runtime or hosting limits", "identify-layer", "which layer generated the error"),
    ("FAQ: repeated 502/503 errors are bad for SEO", "confirm-public-error", "persistent 5xx errors can hurt seo"),
    ("Help: send the domain and the details of the issue", "escalate-hosting", "the affected url, the time and timezone"),
];

/// seeds/001: "502 Bad Gateway" (FaultForge).
#[rustfmt::skip]
const GUIDE_502_FAULTFORGE: &[Row] = &[
    // Quick answer
    ("Quick answer: start by identifying the layer that generated the 502", "identify-layer", "identify the layer that generated the error"),
    ("Quick answer: everyone sees it: CDN or gateway headers, then proxy logs and upstream health", "identify-layer", "read the server header and any request-id headers"),
    ("Quick answer: nginx involved: the nginx upstream checks", "web-server-logs", "proxy_pass or fastcgi_pass points at a port or socket that really listens"),
    ("Quick answer: WordPress involved: the WordPress PHP and plugin checks", "app-runtime", "it is wordpress, with php fatal errors or plugin trouble"),
    ("Quick answer: only Chrome fails: visitor triage before server changes", "visitor-side", "chrome-only trouble"),
    // 502 vs 500 vs 504
    ("502: a gateway could not get a valid response from an upstream", "confirm-public-error", "got an invalid, broken or no usable response"),
    ("500: the application generated its own error", "confirm-public-error", "500 internal server error: the application itself failed"),
    ("504: the gateway waited too long and got no response in time", "confirm-public-error", "504 gateway timeout: the gateway waited for the upstream"),
    ("DNS changes rarely fix a real 502", "identify-layer", "changing dns rarely fixes a real 502"),
    ("DNS rarely fixes a 502 (said again where DNS gets changed)", "cdn-proxy", "dns rarely fixes a real 502"),
    ("The failing handoff is CDN, proxy, origin, runtime or database latency", "identify-layer", "the break is between cdn, proxy, origin, runtime or database"),
    // Layer checklist
    ("Layer table: CDN, CDN-branded page, compare edge headers and origin reachability", "identify-layer", "compare edge headers with origin reachability before bypassing the cache"),
    ("Layer table: reverse proxy, nginx or gateway wording, trace the 502", "identify-layer", "reverse proxy: nginx or gateway wording"),
    ("Layer table: app runtime unavailable, service status, socket/port, app logs", "identify-layer", "check the service, the upstream socket or port, and the app log"),
    ("Layer table: database, the app times out waiting for the DB", "identify-layer", "the app times out waiting for the database"),
    // Symptoms
    ("Symptom: the browser shows 502, Bad Gateway, or a CDN-branded 502 page", "identify-layer", "cdn-branded"),
    ("Symptom: other pages may work if only one upstream route is broken", "identify-layer", "other pages may still work when only one upstream route is broken"),
    ("Symptom: proxy logs mention timeouts, refused, invalid headers, closed connections", "web-server-logs", "upstream prematurely closed connection"),
    // Common causes
    ("Cause: the upstream app, PHP-FPM pool, Node process or container is down or restarting", "app-runtime", "restarting in a loop"),
    ("Cause: the proxy points at the wrong host, port, socket, protocol or upstream name", "web-server-logs", "another host, port, socket, protocol or upstream name"),
    ("Cause: a CDN or balancer cannot reach the origin, or gets a bad answer", "cdn-proxy", "the edge could not get a usable answer from your origin"),
    ("Cause: a deploy changed routing, headers, TLS, DNS or health checks", "rollback", "the new release changed routing (headers, tls, dns, health checks)"),
    ("Cause: the upstream is overloaded and times out", "resources", "lets them time out (504)"),
    // Diagnostic checklist
    ("Checklist: test from another network or with curl -I", "visitor-side", "try another network"),
    ("Checklist: record headers, timestamp, hostname, request ID, CDN branding", "identify-layer", "look at the error page: cdn-branded, hosting-branded"),
    ("Checklist: gateway and upstream logs at the same timestamp", "web-server-logs", "open the error log around the time of the failing request"),
    ("Checklist: the upstream listens where the proxy expects", "app-runtime", "check that it listens exactly where the proxy sends requests"),
    ("Checklist: review deploys, DNS changes, config reloads and cache purges", "rollback", "deploys, plugin updates, config reloads, dns edits, cache purges"),
    // Fix card 1: confirm whether the 502 is local or public (time, risk, who: see below)
    ("Fix 1: avoid server changes until it reproduces outside one browser profile", "visitor-side", "hold off on server changes until you know the error happens outside one browser"),
    ("Fix 1 step: another browser or a private window", "visitor-side", "load the url in a second browser, or in a private window"),
    ("Fix 1 step: a different network, such as a mobile hotspot", "visitor-side", "switch networks: a phone's hotspot"),
    ("Fix 1 step: curl -I from a terminal or a remote shell", "visitor-side", "from a terminal or a remote shell"),
    ("Fix 1 step: compare status, headers and branding", "visitor-side", "compare the status code, the response headers and the error page's branding"),
    ("Fix 1 expected: local-only, network-specific or public", "visitor-side", "one browser only, one network only, or everyone"),
    ("Fix 1 if it failed: clear site data, browser DNS cache and extensions", "visitor-side", "clear that browser's site data, dns cache and extensions"),
    ("Fix 1 verify: repeat from two paths and save the headers", "visitor-side", "two different paths give the same answer; keep the headers"),
    ("Fix 1 rollback: none needed, read-only", "visitor-side", "nothing to undo: these checks only read"),
    // Fix card 2: identify the layer returning the 502
    ("Fix 2: find the first system that generated the bad gateway response", "identify-layer", "find which system made the 502 first"),
    ("Fix 2 step: capture headers and any request ID", "identify-layer", "capture the response headers and any request id"),
    ("Fix 2 step: provider status pages for CDN-branded responses", "identify-layer", "check the provider's status page if the response is cdn-branded"),
    ("Fix 2 step: compare the public URL with a direct origin test", "identify-layer", "put the public answer next to a direct request to the origin"),
    ("Fix 2 step: map the first failing hop before editing config", "identify-layer", "know the first hop that fails before you edit any config"),
    ("Fix 2 expected: which of CDN, balancer, proxy or app made the 502", "identify-layer", "the cdn, the load balancer, the reverse proxy or the upstream app"),
    ("Fix 2 if it failed: access logs and provider request IDs", "identify-layer", "use the access logs and the provider's request ids"),
    ("Fix 2 verify: the request ID appears in the generating layer", "identify-layer", "the layer you named logs the same request id"),
    ("Fix 2 rollback: remove temporary direct-origin test routes", "identify-layer", "take away any temporary route to the origin you opened for the test"),
    // Fix card 3: gateway logs and upstream health
    ("Fix 3: the upstream exists, listens where expected, answers validly", "web-server-logs", "make sure the upstream is there, listens on the socket or port the proxy uses"),
    ("Fix 3 step: search gateway error logs around the failing time", "web-server-logs", "search the nginx, balancer or gateway error log"),
    ("Fix 3 step: service status of PHP-FPM, Apache, Node, containers", "web-server-logs", "check the service status of php-fpm, apache, node, the containers"),
    ("Fix 3 step: sockets, ports, permissions, upstream names match the config", "web-server-logs", "compare sockets, ports, permissions and upstream names with the config that is loaded"),
    ("Fix 3 step: restart only the failed upstream after capturing evidence", "web-server-logs", "restart only the failed upstream, and only after capturing the log evidence"),
    ("Fix 3 expected: a valid response, no more upstream errors", "web-server-logs", "no new upstream errors in the gateway log"),
    ("Fix 3 if it failed: read application logs before repeated restarts", "web-server-logs", "read the application's logs before restarting it again"),
    ("Fix 3 verify: reload and watch the gateway log", "web-server-logs", "with the gateway log open: the request goes through clean"),
    ("Fix 3 rollback: restore the previous proxy config", "web-server-logs", "if a config change broke other routes, put the previous proxy config back"),
    // Fix card 4: roll back the smallest recent change
    ("Fix 4: reverse one likely change instead of stacking blind edits", "rollback", "undo the one change most likely to blame"),
    ("Fix 4 step: list deploys, plugin changes, reloads, DNS edits, cache purges", "rollback", "every deploy, plugin change, config reload, dns edit and cache purge"),
    ("Fix 4 step: the smallest reversible change touching the failing layer", "rollback", "the smallest change you can reverse that touches the failing layer"),
    ("Fix 4 step: preserve logs and current config first", "rollback", "keep the logs and the current config before reverting"),
    ("Fix 4 step: roll back through the normal deployment system", "rollback", "with the usual deploy tool or hosting panel"),
    ("Fix 4 expected: recovery, or a narrower actionable failure", "rollback", "fails in a narrower way you can act on"),
    ("Fix 4 if it failed: restore the current state, continue layer by layer", "rollback", "put the current version back and continue layer by layer"),
    ("Fix 4 verify: test the broken URL and a known-good URL", "rollback", "load both the broken url and one that always worked"),
    ("Fix 4 rollback: record the time and the version or setting restored", "rollback", "write down when you rolled back and the exact version or setting you restored"),
    // Platform notes
    ("Platform: in nginx, a 502 means upstream connectivity, FastCGI sockets, targets, timeouts, health", "web-server-logs", "reaching the upstream, the fastcgi socket, the proxy target, a timeout"),
    ("Platform: in WordPress, PHP-FPM crashes, plugin fatals, DB pressure, host limits", "wordpress", "a crashed php-fpm, a plugin's fatal error, a strained database or the host's resource limits"),
    // FAQ
    ("FAQ: is a 502 a browser problem? usually no", "visitor-side", "a 502 is rarely a browser problem"),
    ("FAQ: browser checks still prove whether it is local", "visitor-side", "prove it is public before you touch any server"),
    ("FAQ: restart nginx first? only after checking the log line", "web-server-logs", "don't restart before reading the log line"),
    ("FAQ: restarting nginx does not fix a down upstream and may hide evidence", "web-server-logs", "a restart of nginx changes nothing and wipes the trail"),
    ("FAQ: DNS can cause a 502 when a proxy points at the wrong origin or a cached answer", "dns-records", "keeps a cached old answer"),
    ("FAQ: browser DNS problems give DNS errors, not a true 502", "visitor-side", "a browser dns problem shows a dns error page, not a real http 502"),
];

/// seeds/002: "How to Fix 502 Bad Gateway Error" (URL Status Checker).
#[rustfmt::skip]
const GUIDE_502_HOWTO: &[Row] = &[
    ("What it is: a gateway got an invalid response from the server it reached", "confirm-public-error", "asked the upstream and got an invalid"),
    ("What it is: a server-side error, not the visitor's computer", "visitor-side", "the browser only shows what a gateway sent"),
    ("Scenario: a reverse proxy (nginx) cannot reach the application server", "web-server-logs", "nothing listens where the proxy connects"),
    ("Scenario: a CDN (Cloudflare) cannot connect to the origin", "cdn-proxy", "cdn cannot reach origin"),
    ("Scenario: a load balancer gets a bad response from its backends", "load-balancer", "returns 502 when a backend sends it a bad answer"),
    ("Scenario: the upstream server is overloaded or crashed", "resources", "server overloaded"),
    ("Quick check: test several pages to see the scope", "confirm-public-error", "check a few other pages too: they show how wide the problem is"),
    // Common causes
    ("Cause: origin server down (crashed or stopped)", "origin", "crashed, stopped or lost its network"),
    ("Cause: server overload (too many requests)", "resources", "server overloaded"),
    ("Cause: PHP-FPM issues (not responding)", "app-runtime", "php-fpm is down"),
    ("Cause: timeout issues (the upstream is too slow)", "web-server-logs", "upstream timed out (110: connection timed out)"),
    ("Cause: firewall blocking internal communication", "origin", "firewall blocks internal traffic"),
    ("Cause: DNS problems between servers", "dns-records", "dns problems between servers"),
    ("Cause: bad deployment", "rollback", "bad deployment"),
    ("Cause: memory exhaustion (out of RAM)", "resources", "memory exhaustion"),
    // For visitors
    ("Visitor: refresh the page after a few seconds", "visitor-side", "wait a few seconds, then reload"),
    ("Visitor: hard refresh with Ctrl+F5 or Cmd+Shift+R", "visitor-side", "ctrl+f5 (windows, linux) or cmd+shift+r (mac)"),
    ("Visitor: clear the browser cache and cookies", "visitor-side", "clear the browser cache and cookies"),
    ("Visitor: try another browser or device (a phone)", "visitor-side", "try another device, such as a phone"),
    ("Visitor: check whether the site is down for everyone", "visitor-side", "down for everyone"),
    // For website owners
    ("Owner: is the web server running (systemctl status nginx / apache2)", "origin", "systemctl status {{web_server}}"),
    ("Owner: is the application running (php-fpm)", "app-runtime", "systemctl status {{php_unit}}"),
    ("Owner: is the Node.js app running (pm2 status)", "app-runtime", "pm2 status"),
    ("Owner: restart the web server if needed", "fix-web-server", "sudo systemctl start {{web_server}}"),
    ("Owner: restart PHP-FPM if needed", "fix-php-stopped", "sudo systemctl restart {{php_unit}}"),
    ("Owner: nginx error log (the one the config names)", "web-server-logs", "sudo tail -n 200 {{error_log}}"),
    ("Owner: Apache error log (the one the config names)", "web-server-logs", "(the log its nginx or apache config names)"),
    ("Owner: PHP-FPM log", "app-runtime", "/var/log/php-fpm/error.log"),
    ("Owner: application logs", "app-runtime", "journalctl -u {{app_service}} -n 100"),
    ("Owner: CPU and memory (htop, free -m)", "resources", "or run htop"),
    ("Owner: disk space (df -h)", "resources", "df -h && df -i"),
    ("Owner: zombie processes", "resources", "zombie (defunct) processes"),
    ("Owner: out of memory crashes PHP-FPM and causes 502; upgrade or optimise", "resources", "when memory runs out, the kernel kills php-fpm and other processes"),
    ("Owner: most PHP 502s are PHP-FPM issues", "app-runtime", "most 502s on php sites are php-fpm"),
    ("Owner: check PHP-FPM status (php8.2-fpm)", "app-runtime", "{{php_unit}} --no-pager"),
    ("Owner: the PHP-FPM pool config (pool.d/www.conf, the one found)", "app-runtime", "{{pool_file}}"),
    ("Owner: pool setting pm = dynamic", "app-runtime", "pm = dynamic"),
    ("Owner: pool setting pm.max_children = 50", "app-runtime", "pm.max_children = 50"),
    ("Owner: pool setting pm.start_servers = 5", "app-runtime", "pm.start_servers = 5"),
    ("Owner: pool setting pm.min_spare_servers = 5", "app-runtime", "pm.min_spare_servers = 5"),
    ("Owner: pool setting pm.max_spare_servers = 35", "app-runtime", "pm.max_spare_servers = 35"),
    ("Owner: pool setting pm.max_requests = 500", "app-runtime", "pm.max_requests = 500"),
    ("Owner: restart PHP-FPM after pool changes", "fix-workers", "test and restart php-fpm"),
    ("Owner: a slow app needs longer proxy timeouts", "fix-timeouts", "raise the proxy timeouts for legitimately slow requests"),
    ("Owner: proxy_connect_timeout 60s", "fix-timeouts", "proxy_connect_timeout 60s"),
    ("Owner: proxy_send_timeout 60s", "fix-timeouts", "proxy_send_timeout 60s"),
    ("Owner: proxy_read_timeout 60s", "fix-timeouts", "proxy_read_timeout 60s"),
    ("Owner: fastcgi_read_timeout 300", "fix-timeouts", "fastcgi_read_timeout 300"),
    ("Owner: fastcgi_send_timeout 300", "fix-timeouts", "fastcgi_send_timeout 300"),
    ("Owner: firewall status (ufw status)", "origin", "sudo ufw status verbose"),
    ("Owner: allow internal communication (ufw allow from 127.0.0.1: a no-op, loopback is never blocked)", "fix-firewall", "never block loopback"),
    ("Owner: the iptables rules", "fix-firewall", "iptables-save"),
    // Cloudflare
    ("Cloudflare 502: a bad response from the origin", "cloudflare-52x", "cloudflare got a bad response from the origin"),
    ("Cloudflare 521: the origin server is down", "cloudflare-52x", "521: web server is down"),
    ("Cloudflare 522: connection to the origin timed out", "cloudflare-52x", "522: connection timed out"),
    ("Cloudflare fix: check the origin server is running", "cloudflare-52x", "confirm the origin server is running"),
    ("Cloudflare fix: allowlist Cloudflare's IP ranges in the firewall", "cloudflare-52x", "allowlist cloudflare's ip ranges"),
    ("Cloudflare fix: Development Mode to bypass the cache", "cloudflare-52x", "development mode bypasses cloudflare's cache"),
    ("Cloudflare fix: Cloudflare's system status page", "cloudflare-52x", "check cloudflare's status page"),
    // 502 vs other 5xx
    ("5xx table: 500 Internal Server Error, an application code bug", "confirm-public-error", "usually a code bug"),
    ("5xx table: 502 Bad Gateway, an upstream server issue", "confirm-public-error", "502 bad gateway"),
    ("5xx table: 503 Service Unavailable, overloaded or maintenance", "confirm-public-error", "503 service unavailable"),
    ("5xx table: 504 Gateway Timeout, the upstream is too slow", "confirm-public-error", "504 gateway timeout"),
    // Prevention
    ("Prevention: monitor servers with uptime monitoring", "monitor", "an uptime monitor with status-code alerts"),
    ("Prevention: scale before you need it", "monitor", "scale ahead of need"),
    ("Prevention: health checks on load balancers", "monitor", "let load balancers and cdns detect unhealthy backends"),
    ("Prevention: graceful restarts, never kill processes during deploys", "monitor", "graceful restarts and zero-downtime deploys"),
    ("Prevention: optimise the application (slow code means timeouts)", "monitor", "slow code means timeouts and 502s"),
    ("Verify: 200 OK across all pages after the fix", "monitor", "check the broken url and a few other pages return 200"),
];

/// seeds/003: "What 502, 503, and 504 Errors Really Mean (And How to Fix Them)" (HelpWithWeb).
#[rustfmt::skip]
const GUIDE_502_503_504: &[Row] = &[
    ("502/503/504 look alike but mean different things", "confirm-public-error", "what the status code says about the layer"),
    // 502
    ("502: the web server's app refused the connection or sent garbage", "app-runtime", "the app runs but answers with garbage"),
    ("502 cause: the app crashed and is not running", "app-runtime", "the app crashed and is not running"),
    ("502 cause: the app is still starting after a deploy", "app-runtime", "still starting after a deploy"),
    ("502 cause: the app runs on another port than nginx expects", "app-runtime", "runs on another port than the proxy expects"),
    ("502 cause: the app runs but returns something malformed", "app-runtime", "its response is malformed"),
    ("502 fix: check the app runs (systemctl status your-app)", "app-runtime", "systemctl status {{app_service}}"),
    ("502 fix: check the app logs for crashes (journalctl -u your-app -n 100)", "app-runtime", "journalctl -u {{app_service}} -n 100"),
    ("502 fix: the port matches nginx's proxy_pass", "app-runtime", "it listens on the port that proxy_pass names"),
    ("502 fix: after a deploy wait 30 seconds for the app to boot", "app-runtime", "give the app 30 seconds to boot"),
    // 503
    ("503: the server runs but refuses on purpose: maintenance, overload, no healthy upstream", "confirm-public-error", "no healthy upstream"),
    ("503 cause: maintenance mode switched on", "maintenance", "someone, or a deploy, a cms update or the provider, switched it on"),
    ("503 cause: all upstream servers down, the balancer has nowhere to send traffic", "load-balancer", "has nowhere to send traffic"),
    ("503 cause: rate limiting", "web-server-logs", "the web server's own rate limit"),
    ("503 cause: the CDN shows a 'try again' page", "cdn-proxy", "the cdn shows its own 'try again' page"),
    ("503 fix: maintenance flag files (.maintenance, maintenance.html)", "maintenance", "maintenance.html"),
    ("503 fix: check upstream health", "load-balancer", "open the balancer's target or backend health page"),
    ("503 fix: rate limit rules in nginx/Apache", "web-server-logs", "limit_req"),
    ("503 fix: rate limit rules at Cloudflare", "cdn-proxy", "rate-limiting rules"),
    ("503 fix: a CDN in front returns the 503 (server: cloudflare)", "cdn-proxy", "server: cloudflare"),
    // 504
    ("504: the app started responding but did not finish in time", "confirm-public-error", "did not finish its answer in time"),
    ("504 cause: the app is very slow (slow query, external API timeout)", "app-runtime", "an external api times out"),
    ("504 cause: the app is stuck in a loop", "app-runtime", "the app is stuck in a loop"),
    ("504 cause: the database is overloaded", "database", "the database is overloaded"),
    ("504 cause: the nginx timeout is too low for a legitimately slow operation", "fix-timeouts", "raise the proxy timeouts for legitimately slow requests"),
    ("504 fix: check the app's response times", "app-runtime", "check the app's response times"),
    ("504 fix: look for slow queries (SHOW FULL PROCESSLIST)", "database", "show full processlist"),
    ("504 fix: synchronous work that should be queued (email, files, external APIs)", "fix-timeouts", "sending email, processing files or calling slow external apis"),
    ("504 fix: raise proxy_read_timeout 300s for legitimately long operations", "fix-timeouts", "up to 300s for long operations"),
    // Which layer
    ("Which layer: check the response headers with curl -I", "identify-layer", "only the headers that name the responder"),
    ("Which layer: server: cloudflare, Cloudflare returns the error", "identify-layer", "server: cloudflare means cloudflare produced this response"),
    ("Which layer: server: nginx or Apache, your web server", "identify-layer", "server: nginx or apache means your own web server answered"),
    ("Which layer: an AWS-ALB header, your load balancer", "identify-layer", "server: awselb, or an alb header, means the load balancer answered"),
    ("Which layer: fix it at the right layer; a Cloudflare 502 is not your server's fault", "identify-layer", "a cloudflare 502 is not necessarily your server's fault"),
    // Prevention
    ("Prevention: health check endpoints so balancers and CDNs skip bad backends", "monitor", "stop sending them traffic"),
    ("Prevention: uptime monitors with status code alerts (UptimeRobot is free)", "monitor", "uptimerobot has a free plan"),
    ("Prevention: graceful, zero-downtime deploys", "monitor", "zero-downtime deploys"),
    ("Prevention: queue long work (over ~10 seconds)", "monitor", "anything over about 10 seconds runs in the background"),
    ("Help: send what the error page says", "escalate-hosting", "whose error page it is"),
];

/// Not from the guides: the rest of Cloudflare's 52x family, which the issue asks for.
#[rustfmt::skip]
const CLOUDFLARE_CODES: &[Row] = &[
    ("Cloudflare 520: unknown error from the origin", "cloudflare-52x", "520: web server returns an unknown error"),
    ("Cloudflare 523: origin is unreachable", "cloudflare-52x", "523: origin is unreachable"),
    ("Cloudflare 524: a timeout occurred (about 100 s)", "cloudflare-52x", "within about 100 seconds"),
    ("Cloudflare 525: SSL handshake failed", "cloudflare-52x", "525: ssl handshake failed"),
    ("Cloudflare 526: invalid SSL certificate", "cloudflare-52x", "526: invalid ssl certificate"),
    ("Cloudflare 527: Railgun listener to origin error", "cloudflare-52x", "527: railgun listener to origin error"),
    ("Cloudflare 530: origin error shown with a 1xxx code", "cloudflare-52x", "530: origin error with a 1xxx code"),
];

const GUIDES: &[(&str, &[Row])] = &[
    ("seeds/000 Fixing 502 Bad Gateway and 503 Service Unavailable Errors", GUIDE_502_503),
    ("seeds/001 502 Bad Gateway (FaultForge)", GUIDE_502_FAULTFORGE),
    ("seeds/002 How to Fix 502 Bad Gateway Error", GUIDE_502_HOWTO),
    ("seeds/003 What 502, 503, and 504 Errors Really Mean", GUIDE_502_503_504),
    ("the issue: Cloudflare's other 52x codes", CLOUDFLARE_CODES),
];

fn runbook() -> Runbook {
    builtin::load_all().unwrap().into_iter().find(|r| r.id == "http-5xx").unwrap()
}

/// Every text of a step that a person reads, lowercased, one per line.
fn step_text(step: &Step) -> String {
    let mut t: Vec<String> = vec![step.title.clone(), step.why.clone()];
    t.extend(step.instructions.iter().cloned());
    for cmd in step.commands.iter().chain(step.fixes.iter().flat_map(|f| &f.commands)) {
        t.extend([cmd.run.clone(), cmd.purpose.clone()]);
        if let Effect::ChangesSystem { rollback, .. } = &cmd.effect {
            t.push(rollback.clone());
        }
    }
    for cause in &step.causes {
        t.extend([cause.title.clone(), cause.signs.clone(), cause.next.clone()]);
    }
    for list in &step.checklists {
        t.push(list.title.clone());
        t.extend(list.items.iter().cloned());
    }
    t.extend(step.notes.iter().cloned());
    for record in &step.record {
        t.push(record.item.label().to_owned());
        t.extend(record.ask.iter().cloned());
    }
    t.push(step.question.prompt().to_owned());
    for choice in step.question.choices() {
        t.push(choice.label.clone());
        t.extend(choice.because.iter().cloned());
    }
    for fix in &step.fixes {
        t.extend([fix.title.clone(), fix.time.clone(), fix.summary.clone()]);
        t.extend(fix.steps.iter().cloned());
        t.extend([fix.expected.clone(), fix.if_failed.clone(), fix.verify.clone()]);
        t.push(fix.rollback.clone());
    }
    t.join("\n").to_lowercase()
}

fn outcome_text(outcome: &Outcome) -> String {
    let mut t = vec![outcome.title.clone(), outcome.summary.clone()];
    t.extend(outcome.send.iter().map(|s| s.text.clone()));
    t.join("\n").to_lowercase()
}

/// The text of the step or outcome with this id.
fn text_of(runbook: &Runbook, id: &str) -> Option<String> {
    runbook.step(id).map(step_text).or_else(|| runbook.outcome(id).map(outcome_text))
}

#[test]
fn every_seed_item_is_covered() {
    let runbook = runbook();
    let mut listing = String::new();
    let mut missing = Vec::new();
    let mut rows = 0;
    for (guide, items) in GUIDES {
        writeln!(listing, "\n{guide}").unwrap();
        for (item, at, phrase) in *items {
            rows += 1;
            writeln!(listing, "  {item:<92} -> {at}").unwrap();
            match text_of(&runbook, at) {
                None => missing.push(format!("{guide}: \"{item}\": no step or outcome `{at}`")),
                Some(text) if !text.contains(&phrase.to_lowercase()) => missing
                    .push(format!("{guide}: \"{item}\": step `{at}` does not say \"{phrase}\"")),
                Some(_) => {}
            }
        }
    }
    println!("Seed items and the step that covers each ({rows} items):{listing}");
    assert!(
        missing.is_empty(),
        "{} of {rows} seed items not covered:\n{}",
        missing.len(),
        missing.join("\n")
    );
    assert!(rows >= 150, "only {rows} rows; the guides hold more items than that");
}

#[test]
fn seed_fix_cards_keep_their_time_risk_and_who() {
    let runbook = runbook();
    #[rustfmt::skip]
    let cards: &[(&str, &str, &str, Risk, Who)] = &[
        ("visitor-side", "confirm-local-or-public", "5 minutes", Risk::Low, Who::Anyone),
        ("identify-layer", "identify-responding-layer", "10 minutes", Risk::Low, Who::SiteOwner),
        ("web-server-logs", "check-gateway-and-upstream", "15 minutes", Risk::Medium, Who::HostAdmin),
        ("rollback", "roll-back-smallest-change", "15-30 minutes", Risk::Medium, Who::Developer),
    ];
    for (step, id, time, risk, who) in cards {
        let step = runbook.step(step).unwrap();
        let fix = step.fixes.iter().find(|f| f.id == *id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!((fix.time.as_str(), fix.risk, fix.who), (*time, *risk, *who), "{id}");
        assert!(fix.steps.len() >= 3, "{id}: the seed card has four steps");
    }
}

#[test]
fn fixes_the_guides_describe_in_prose_are_cards() {
    let runbook = runbook();
    #[rustfmt::skip]
    let prose: &[(&str, &str, &str)] = &[
        ("restart PHP-FPM after reading the log", "fix-php-stopped", "restart-php-fpm"),
        ("tune the PHP-FPM pool and restart after changes", "fix-workers", "tune-php-fpm-pool"),
        ("fix the socket permissions", "fix-socket-permissions", "fix-socket-permissions"),
        ("restart the Node/Python app after reading its log", "fix-app-stopped", "restart-app-service"),
        ("queue long, synchronous work", "fix-timeouts", "queue-long-work"),
        ("raise the proxy timeouts", "fix-timeouts", "raise-proxy-timeouts"),
        ("fix the upstream address (proxy_pass)", "fix-upstream", "fix-upstream-address"),
        ("loosen rate limit rules", "fix-rate-limit", "relax-rate-limit"),
        ("restart the web server if needed", "fix-web-server", "start-web-server"),
        ("disable maintenance mode", "maintenance", "disable-maintenance-mode"),
        ("allow the CDN's IPs in the firewall", "fix-firewall", "allow-cdn-ips"),
        ("allow internal communication (a firewall or SELinux between proxy and app)", "fix-firewall", "allow-proxy-to-app"),
        ("fix the origin SSL mode", "fix-cdn", "fix-origin-ssl-mode"),
        ("point the CDN at the right origin", "fix-cdn", "fix-cdn-origin-address"),
        ("allow legitimate CDN/proxy traffic through the WAF", "fix-cdn", "allow-waf-traffic"),
        ("take an unhealthy backend out of the pool", "load-balancer", "drain-bad-backend"),
        ("correct a wrong DNS record", "dns-records", "fix-dns-record"),
        ("disable the latest plugin or theme", "fix-plugin", "disable-latest-plugin"),
        ("raise the PHP memory limit", "fix-plugin", "raise-php-memory-limit"),
        ("start the database (PostgreSQL)", "fix-database", "start-postgresql"),
        ("start the database (MySQL, MariaDB)", "fix-database", "start-mysql"),
        ("stop a slow query", "fix-db-connections", "stop-runaway-query"),
        ("fix the database credentials, socket or host", "fix-db-credentials", "fix-db-credentials"),
        ("free disk space", "fix-disk", "free-disk-space"),
        ("cache pages and review bots", "fix-load", "reduce-traffic-load"),
        ("upgrade the server (more resources)", "fix-load", "add-server-resources"),
        ("reduce load for hosting limits, or upgrade the plan", "shared-hosting", "reduce-hosting-load"),
    ];
    for (what, step, id) in prose {
        let step = runbook.step(step).unwrap();
        assert!(
            step.fixes.iter().any(|f| f.id == *id),
            "\"{what}\": no fix card `{id}` at `{}`",
            step.id
        );
    }
    for fix in runbook.steps.iter().flat_map(|s| &s.fixes) {
        let fields = [
            &fix.title,
            &fix.time,
            &fix.summary,
            &fix.expected,
            &fix.if_failed,
            &fix.verify,
            &fix.rollback,
        ];
        assert!(
            fields.iter().all(|f| !f.trim().is_empty()),
            "{}: every field of a fix card says something",
            fix.id
        );
        assert!(!fix.steps.is_empty(), "{}: steps", fix.id);
        let unsafe_edits = edits_without_a_restorable_copy(fix);
        assert!(unsafe_edits.is_empty(), "{}: {unsafe_edits:?}", fix.id);
    }
}

/// The file a command edits in place: `sudoedit $(readlink -f F)`, `nano F`, `sed -i … F`,
/// `… | tee F` (but not a new file of triage's own under /root/triage-…).
fn edited_file(run: &str) -> Option<String> {
    let real = run.replace("$(readlink -f ", "").replace(')', "");
    let words: Vec<&str> = real.split_whitespace().filter(|w| *w != "sudo").collect();
    let target = match words.as_slice() {
        ["sudoedit" | "nano" | "vi" | "vim" | "ed", .., file] => *file,
        ["sed", rest @ ..] if rest.contains(&"-i") => rest.last()?,
        _ => {
            let tee = words.iter().position(|w| *w == "tee")?;
            words.get(tee + 1..)?.iter().find(|w| !w.starts_with('-'))?
        }
    };
    let own = target.starts_with("/root/triage-") || target == "/dev/null";
    (!own).then(|| target.to_owned())
}

/// Edits in a card that are not backed up: each edited file must be copied first, with the
/// link followed (`cp --dereference --parents F /root/triage-backup/`, not `cp -a` of a
/// directory of symlinks), and the edit's rollback must copy that copy back onto the real file.
fn edits_without_a_restorable_copy(fix: &FixCard) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, command) in fix.commands.iter().enumerate() {
        let Some(file) = edited_file(&command.run) else { continue };
        let copied = fix.commands[..i].iter().find_map(|c| {
            let words: Vec<&str> = c.run.split_whitespace().filter(|w| *w != "sudo").collect();
            let ok = words.first() == Some(&"cp")
                && words.contains(&"--dereference")
                && words.contains(&"--parents")
                && words.contains(&file.as_str());
            let dest = words.last()?.trim_end_matches('/');
            ok.then(|| format!("{dest}{file}"))
        });
        let Some(copy) = copied else {
            problems.push(format!("`{}` edits {file} with no copy of it before", command.run));
            continue;
        };
        let restores = match &command.effect {
            Effect::ChangesSystem { rollback, .. } => {
                rollback.contains("cp ")
                    && rollback.contains(&copy)
                    && rollback.contains(&format!("readlink -f {file}"))
            }
            Effect::ReadOnly => false,
        };
        if !restores {
            problems.push(format!(
                "the rollback of `{}` does not copy {copy} back onto {file}",
                command.run
            ));
        }
    }
    problems
}

#[test]
fn the_backup_rule_catches_the_edits_it_should() {
    assert_eq!(
        edited_file("sudoedit $(readlink -f {{pool_file}})").as_deref(),
        Some("{{pool_file}}")
    );
    assert_eq!(edited_file("sudo sed -i s/a/b/ /etc/x.conf").as_deref(), Some("/etc/x.conf"));
    assert_eq!(edited_file("curl -sS u | sudo tee /root/triage-cdn-ranges.txt"), None);
    assert_eq!(edited_file("sudo nginx -t && sudo systemctl reload nginx"), None);
}

#[test]
fn common_problems_keep_their_severity() {
    let runbook = runbook();
    #[rustfmt::skip]
    let problems: &[(&str, &str, Severity)] = &[
        ("cdn-proxy", "CDN cannot reach origin", Severity::High),
        ("app-runtime", "PHP-FPM is down", Severity::High),
        ("app-runtime", "Application timeout", Severity::High),
        ("resources", "Server overloaded", Severity::High),
        ("maintenance", "Maintenance mode active", Severity::Medium),
        ("database", "Database unavailable", Severity::High),
        ("cdn-proxy", "Firewall or WAF blocking traffic", Severity::Medium),
        ("web-server-logs", "Wrong proxy upstream", Severity::High),
        ("shared-hosting", "Shared hosting limits reached", Severity::Medium),
    ];
    for (step, title, severity) in problems {
        let cause = runbook.step(step).unwrap().causes.iter().find(|c| c.title == *title);
        let cause = cause
            .unwrap_or_else(|| panic!("common problem \"{title}\" is not a cause at `{step}`"));
        assert_eq!(cause.severity, *severity, "{title}");
    }
}

#[test]
fn cloudflare_codes_each_have_a_cause() {
    let step = runbook().step("cloudflare-52x").unwrap().clone();
    for code in [502, 520, 521, 522, 523, 524, 525, 526, 527, 530] {
        assert!(step.causes.iter().any(|c| c.statuses == [code]), "Cloudflare {code}");
    }
}

#[test]
fn what_to_send_support_is_recorded_where_it_is_found() {
    // seeds/001, "What to send support": every item, at the step that collects it.
    let runbook = runbook();
    #[rustfmt::skip]
    let items: &[(&str, SupportItem, &str, Option<&str>)] = &[
        ("the affected URL", SupportItem::AffectedUrl, "confirm-public-error", None),
        ("timestamp and timezone", SupportItem::Timestamps, "confirm-public-error", None),
        ("the status seen", SupportItem::Status, "confirm-public-error", Some("http.status")),
        ("response headers", SupportItem::ResponseHeaders, "confirm-public-error", Some("http.headers")),
        ("request ID", SupportItem::RequestIds, "confirm-public-error", Some("http.request_ids")),
        ("request ID (the Ray ID on a Cloudflare page)", SupportItem::RequestIds, "cloudflare-52x", None),
        ("CDN/origin branding", SupportItem::Branding, "identify-layer", Some("responder.vendor")),
        ("recent changes", SupportItem::RecentChanges, "rollback", Some("changes.kinds")),
        ("the first matching proxy log line", SupportItem::FirstLogLine, "web-server-logs", Some("logs.first_line")),
        ("the first matching app log line", SupportItem::FirstLogLine, "app-runtime", None),
    ];
    for (what, item, step, from) in items {
        let step = runbook.step(step).unwrap();
        let record = step.record.iter().find(|r| r.item == *item);
        let record =
            record.unwrap_or_else(|| panic!("\"{what}\" is not recorded at `{}`", step.id));
        assert_eq!(record.from.as_deref(), *from, "{what}");
        assert!(
            record.from.is_some() || record.ask.is_some(),
            "{what}: a check fills it or the user is asked"
        );
    }
    for item in SupportItem::ALL {
        assert!(
            runbook.steps.iter().any(|s| s.record.iter().any(|r| r.item == item)),
            "{item:?} recorded nowhere"
        );
    }
}

#[test]
fn the_flow_has_the_steps_other_work_refers_to() {
    let runbook = runbook();
    #[rustfmt::skip]
    let steps: &[(&str, Layer, &[&str])] = &[
        ("confirm-public-error", Layer::Client, &["http_probe", "dns", "tls", "upstreams"]),
        ("visitor-side", Layer::Client, &[]),
        ("identify-layer", Layer::Client, &["http_probe", "recent_changes", "dns"]),
        ("cdn-proxy", Layer::Cdn, &["origin", "tls"]),
        ("origin", Layer::WebServer, &["origin", "tls"]),
        ("web-server-logs", Layer::WebServer, &["logs", "upstreams"]),
        ("app-runtime", Layer::AppRuntime, &["stack", "upstreams", "resources", "database"]),
        ("database", Layer::Database, &["database"]),
        ("resources", Layer::Host, &["resources"]),
        ("rollback", Layer::Deploy, &["recent_changes"]),
        ("monitor", Layer::Client, &["http_probe", "logs"]),
    ];
    assert_eq!(runbook.start, "confirm-public-error");
    for (id, layer, checks) in steps {
        let step = runbook.step(id).unwrap_or_else(|| panic!("step `{id}`"));
        assert_eq!(step.layer, *layer, "{id}");
        let ran: Vec<&str> = step.checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(&ran, checks, "{id}");
    }
    let origin_params = &runbook.step("origin").unwrap().checks[0].with;
    assert!(origin_params.contains(&("origin".to_owned(), "{{origin}}".to_owned())));
}

#[test]
fn outcomes_hand_over_to_the_right_people_with_what_to_send() {
    let runbook = runbook();
    let expected = [
        ("resolved", OutcomeKind::Resolved),
        ("local-only", OutcomeKind::Resolved),
        ("escalate-cdn", OutcomeKind::Escalate(EscalateTo::Cdn)),
        ("escalate-hosting", OutcomeKind::Escalate(EscalateTo::HostingProvider)),
        ("escalate-developer", OutcomeKind::Escalate(EscalateTo::Developer)),
        ("escalate-dba", OutcomeKind::Escalate(EscalateTo::Dba)),
    ];
    for (id, kind) in expected {
        let outcome = runbook.outcome(id).unwrap_or_else(|| panic!("outcome `{id}`"));
        assert_eq!(outcome.kind, kind, "{id}");
    }
    for outcome in runbook.outcomes.iter().filter(|o| matches!(o.kind, OutcomeKind::Escalate(_))) {
        assert!(outcome.send.len() >= 3, "{}: an escalation says what to send", outcome.id);
        assert!(outcome_text(outcome).contains("time"), "{}: the time goes with it", outcome.id);
    }
}

/// What the cause's route ends in: a step with fix cards, or an escalation with a `send:` list.
fn ends_in_a_card_or_escalation(runbook: &Runbook, target: &Next) -> bool {
    match target {
        Next::Step(id) => runbook.step(id).is_some_and(|s| !s.fixes.is_empty()),
        Next::Outcome(id) => runbook
            .outcome(id)
            .is_some_and(|o| matches!(o.kind, OutcomeKind::Escalate(_)) && !o.send.is_empty()),
    }
}

/// The choices whose evidence names `cause` through `verdict.cause`.
fn routes<'a>(runbook: &'a Runbook, cause: &'a str) -> impl Iterator<Item = (&'a Step, &'a Next)> {
    fn names(condition: &Condition, cause: &str) -> bool {
        match condition {
            Condition::Fact { fact, test } if fact == "verdict.cause" => match test {
                Test::Equals(v) => v.as_text() == Some(cause),
                Test::OneOf(vs) => vs.iter().any(|v| v.as_text() == Some(cause)),
                _ => false,
            },
            Condition::Any(group) => group.iter().any(|c| names(c, cause)),
            Condition::Fact { .. } => false,
        }
    }
    runbook.steps.iter().flat_map(move |step| {
        step.question
            .choices()
            .iter()
            .filter(move |c| c.when.iter().any(|w| names(w, cause)))
            .map(move |c| (step, &c.target))
    })
}

#[test]
fn every_cause_the_diagnosis_names_leads_to_a_card_or_an_escalation() {
    let runbook = runbook();
    let rules = triage::diagnosis::Rules::builtin().unwrap();
    let mut missing = Vec::new();
    for cause in
        rules.causes.iter().map(|c| c.id.as_str()).filter(|c| !["none", "unknown"].contains(c))
    {
        // The steps the diagnosis itself points at for this cause count as a first hop too.
        let rule_steps: Vec<Next> = rules
            .rules
            .iter()
            .filter(|r| r.cause.as_deref() == Some(cause))
            .filter_map(|r| r.step.clone().map(Next::Step))
            .collect();
        let first: Vec<Next> =
            routes(&runbook, cause).map(|(_, t)| t.clone()).chain(rule_steps).collect();
        let reached = first.iter().any(|t| {
            ends_in_a_card_or_escalation(&runbook, t)
                || matches!(t, Next::Step(id) if routes(&runbook, cause)
                    .any(|(s, next)| &s.id == id && ends_in_a_card_or_escalation(&runbook, next)))
        });
        if !reached {
            missing.push(cause);
        }
    }
    assert!(missing.is_empty(), "causes with no route to a fix card or an escalation: {missing:?}");
}
