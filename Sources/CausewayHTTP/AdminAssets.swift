/// The admin page's stylesheet and script, served from the admin path (no CDN, no build step).
enum AdminAssets {
    static let css = """
    :root { --fg: #1d2430; --muted: #5b6575; --bg: #f4f6f9; --card: #fff; --line: #d9dee6; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700;
            --s1: #2563eb; --s2: #d97706; --s3: #b42318; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
    header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
    header.top h1 { font-size: 1.2rem; margin: 0; }
    header.top .meta { margin: 0; color: var(--muted); font-size: .85rem; flex: 1 1 16rem; overflow-wrap: anywhere; }
    main { padding: 1rem; max-width: 90rem; margin: 0 auto; }
    main.narrow { max-width: 28rem; }
    h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
    h3 { font-size: 1rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
    h3 small { color: var(--muted); font-weight: normal; }
    .grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
    .grid.two { grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
    .card, section#identity, section#reload, section#check, section#errors { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
    section#check, section#errors { margin-top: 1rem; }
    .stack { display: flex; flex-direction: column; gap: .6rem; margin: 1rem 0; }
    .stack input { width: 100%; padding: .45rem; font: inherit; }
    .state { font-weight: 600; margin: .25rem 0; overflow-wrap: anywhere; }
    .state.up, .ok { color: var(--ok); }
    .state.unavailable, .bad, .error { color: var(--bad); }
    .state.starting, .state.stopping, .warning { color: var(--warn); }
    .classes { color: var(--muted); font-size: .85rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
    dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .25rem .75rem; margin: .25rem 0 .5rem; }
    dl.figures div { min-width: 0; }
    dt { color: var(--muted); font-size: .78rem; }
    dd { margin: 0; font-variant-numeric: tabular-nums; }
    form.inline { display: inline-block; margin: .25rem 0; }
    button { font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: #eef2f7; cursor: pointer; }
    button:hover { background: #e2e8f0; }
    .notice { background: #e8f1fe; border: 1px solid #b6d0fb; border-radius: 6px; padding: .5rem .75rem; }
    .charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .5rem; margin-top: .5rem; }
    figure.chart { margin: 0; min-width: 0; }
    figcaption { font-size: .75rem; color: var(--muted); }
    .key.s1 { color: var(--s1); } .key.s2 { color: var(--s2); } .key.s3 { color: var(--s3); }
    svg { width: 100%; height: 4.5rem; display: block; }
    svg polyline { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
    svg polyline.s1, svg circle.s1 { stroke: var(--s1); fill: none; } svg polyline.s2, svg circle.s2 { stroke: var(--s2); }
    svg polyline.s3, svg circle.s3 { stroke: var(--s3); }
    svg circle { fill: currentColor; }
    svg line.axis { stroke: var(--line); }
    svg text { font-size: 9px; fill: var(--muted); }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; font-size: .85rem; }
    th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    td.msg, td.rid { overflow-wrap: anywhere; }
    ul.findings, ul.problems { padding-left: 1.2rem; overflow-wrap: anywhere; }
    label.auto { font-size: .85rem; color: var(--muted); }
    @media (max-width: 40rem) {
      main { padding: .5rem; }
      .charts { grid-template-columns: minmax(0, 1fr); }
      th:nth-child(1), td:nth-child(1) { display: none; }
    }
    """

    /// Refreshes the live part of the page every 5 s (unless switched off or a field has focus) by
    /// fetching the page and swapping in its `#live` element; a signed-out answer reloads the page.
    static let js = """
    (function () {
      'use strict';
      var box = document.getElementById('autorefresh');
      if (!box) { return; }
      function refresh() {
        if (!box.checked) { return; }
        var active = document.activeElement;
        if (active && (active.tagName === 'INPUT' || active.tagName === 'BUTTON') && active !== box) { return; }
        fetch(window.location.pathname, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
          .then(function (r) {
            if (r.status !== 200) { window.location.reload(); return null; }
            return r.text();
          })
          .then(function (text) {
            if (text === null || text === undefined) { return; }
            var doc = new DOMParser().parseFromString(text, 'text/html');
            var fresh = doc.getElementById('live');
            var current = document.getElementById('live');
            if (!fresh || !current) { window.location.reload(); return; }
            current.replaceWith(document.importNode(fresh, true));
            document.documentElement.setAttribute('data-refreshed', String(Date.now()));
          })
          .catch(function () { /* the gateway may be restarting: try again next time */ });
      }
      window.setInterval(refresh, 5000);
    })();
    """
}
