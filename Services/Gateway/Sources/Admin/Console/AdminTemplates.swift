/// The admin console's pages (SPEC §7) as Mustache templates. Kept in the binary, not in files beside it: a Gateway
/// copied to another machine or image renders its admin pages without a resource folder. `{{x}}` is HTML-escaped;
/// `{{{x}}}` is used only for the SVG the server draws itself (`SVGCharts`).
enum AdminTemplates {
    static let all: [String: String] = [
        "head": head, "foot": foot, "login": login, "message": message, "list": list, "detail": detail,
        "dead_letters": deadLetters, "janitor": janitor, "stats": stats,
    ]

    static let head = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}
    <title>{{title}} · Mediaflow admin</title>
    <style>
    :root{--fg:#1d232a;--muted:#5d6b79;--line:#d9dee4;--bg:#f5f7f9;--accent:#2457c5;--ok:#1b7f3b;--bad:#b3261e;--warn:#9a6700}
    *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
    header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#16202c;color:#fff}
    header a{color:#cfd8e3;text-decoration:none}header a.on,header a:hover{color:#fff}
    .brand{font-weight:700;color:#fff!important;font-size:16px}nav{display:flex;gap:18px;flex:1}
    .logout{display:flex;gap:10px;align-items:center;margin:0}.logout span{color:#cfd8e3}
    main{padding:20px 24px;max-width:1400px}h1{font-size:22px;margin:0 0 14px}h2{font-size:17px;margin:22px 0 10px}
    a{color:var(--accent)}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
    th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
    th{background:#eef1f4;font-weight:600;font-size:13px;color:#3a4653}tr:hover td{background:#fafbfc}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .thumb{width:48px;height:48px;object-fit:cover;border-radius:4px;background:#e6e9ed;display:block}
    .ph{width:48px;height:48px;border-radius:4px;background:#e6e9ed;color:var(--muted);display:flex;align-items:center;justify-content:center;font-size:11px}
    .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e6e9ed}
    .s-ready{background:#dcf2e3;color:var(--ok)}.s-failed{background:#fbe1df;color:var(--bad)}.s-processing,.s-uploading{background:#fff1cc;color:var(--warn)}
    form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end;background:#fff;border:1px solid var(--line);padding:12px;margin-bottom:14px}
    label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
    input,select,textarea,button{font:inherit}input,select,textarea{padding:5px 7px;border:1px solid #b9c2cc;border-radius:4px;background:#fff}
    button,.button{padding:6px 12px;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer;text-decoration:none;display:inline-block}
    button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
    .bar{display:flex;gap:10px;align-items:center;margin:10px 0}.muted{color:var(--muted)}
    .notice{background:#e7f0ff;border:1px solid #b5cdf7;padding:9px 12px;border-radius:4px}
    .error{background:#fbe1df;border:1px solid #efb2ac;padding:9px 12px;border-radius:4px;color:#7d1a14}
    .pager{display:flex;gap:12px;align-items:center;margin:12px 0}
    .login{max-width:520px;margin:60px auto;background:#fff;border:1px solid var(--line);padding:24px;border-radius:6px}
    .login textarea{width:100%;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
    .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
    figure{margin:0;background:#fff;border:1px solid var(--line);padding:10px;border-radius:4px}
    figure img{max-width:100%;display:block;margin:0 auto}figcaption{font-size:12px;color:var(--muted);margin-top:6px}
    .player{background:#fff;border:1px solid var(--line);padding:12px;border-radius:4px;max-width:900px}
    video{max-width:100%;max-height:480px;background:#000;display:block}audio{width:100%}
    .kv th{width:180px}.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px}
    pre{background:#fff;border:1px solid var(--line);padding:10px;overflow:auto;font-size:12px;max-height:320px}
    .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:18px}
    .chart{background:#fff;border:1px solid var(--line);padding:12px;border-radius:4px}
    .chart h2{margin-top:0}.nowrap{white-space:nowrap}td.message{font-size:12px;color:#3a4653;word-break:break-word}.inline{display:inline}.figures{display:flex;gap:28px;margin-bottom:8px}
    .figures div{background:#fff;border:1px solid var(--line);padding:10px 16px;border-radius:4px}.figures b{display:block;font-size:22px}
    </style></head><body>
    <header><a class="brand" href="/admin/">Mediaflow admin</a>
    {{#user}}<nav><a href="/admin/mediafiles/media/"{{#nav_media}} class="on"{{/nav_media}}>Media</a>
    <a href="/admin/dead-letters/"{{#nav_dead}} class="on"{{/nav_dead}}>Dead letters</a>
    <a href="/admin/janitor/"{{#nav_janitor}} class="on"{{/nav_janitor}}>Janitor</a>
    <a href="/admin/stats/"{{#nav_stats}} class="on"{{/nav_stats}}>Stats</a></nav>
    <form method="post" action="/admin/logout" class="logout"><input type="hidden" name="csrf_token" value="{{csrf}}">
    <span>{{user}}</span><button type="submit" class="secondary">Log out</button></form>{{/user}}
    </header><main>
    {{#notice}}<p class="notice" role="status" id="notice">{{notice}}</p>{{/notice}}
    {{#error}}<p class="error" role="alert" id="error">{{error}}</p>{{/error}}
    """#

    static let foot = #"""
    </main></body></html>
    """#

    static let login = #"""
    {{> head}}
    <section class="login"><h1>Sign in</h1>
    <p class="muted">Paste a staff access token: the same bearer token the API takes. The session lasts as long as the token.</p>
    <form method="post" action="/admin/login">
    <label for="token">Access token</label>
    <textarea id="token" name="token" rows="6" required autofocus spellcheck="false"></textarea>
    <input type="hidden" name="next" value="{{next}}">
    <p><button type="submit" id="sign-in">Sign in</button></p>
    </form></section>
    {{> foot}}
    """#

    /// A page that only says something (403, 404, an error).
    static let message = #"""
    {{> head}}
    <h1>{{heading}}</h1>
    <p>{{text}}</p>
    {{#back}}<p><a href="{{back}}">Back</a></p>{{/back}}
    {{> foot}}
    """#

    static let list = #"""
    {{> head}}
    <h1>Media</h1>
    <form class="filters" method="get" action="/admin/mediafiles/media/">
    <label>Search<input type="search" name="q" value="{{q}}" placeholder="file or owner name" id="search"></label>
    <label>Type<select name="type">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select></label>
    <label>Status<select name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
    <label>Owner id<input type="text" inputmode="numeric" name="owner" value="{{owner}}" size="8"></label>
    <label>Created from<input type="date" name="created_from" value="{{created_from}}"></label>
    <label>Created to<input type="date" name="created_to" value="{{created_to}}"></label>
    <button type="submit" id="filter">Filter</button> <a class="button secondary" href="/admin/mediafiles/media/">Clear</a>
    </form>
    <form method="post" action="/admin/mediafiles/media/" id="bulk">
    <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="return" value="{{return}}">
    <div class="bar"><label class="inline">Action <select name="action" id="action">
    <option value="reprocess">Reprocess</option><option value="make_public">Make public</option>
    <option value="make_private">Make private</option><option value="delete">Delete</option></select></label>
    <button type="submit" id="apply">Apply to selected</button>
    <span class="muted" id="count">{{count_text}}</span> <span class="muted" id="live" hidden>· live</span></div>
    <table id="media"><thead><tr><th><input type="checkbox" id="all" title="Select all" aria-label="Select all"></th>
    <th class="num">ID</th><th>Thumbnail</th><th>File name</th><th>Owner</th><th>Type</th><th>Status</th><th class="num">Size</th><th>Created (UTC)</th></tr></thead>
    <tbody>
    {{#items}}<tr data-id="{{id}}" data-status="{{status}}">
    <td><input type="checkbox" name="ids" value="{{id}}" aria-label="Select {{id}}"></td>
    <td class="num"><a href="/admin/mediafiles/media/{{id}}/">{{id}}</a></td>
    <td>{{#thumbnail}}<img class="thumb" src="{{thumbnail}}" alt="" loading="lazy">{{/thumbnail}}{{^thumbnail}}<span class="ph">{{type}}</span>{{/thumbnail}}</td>
    <td><a href="/admin/mediafiles/media/{{id}}/">{{filename}}</a></td>
    <td>{{owner}} <span class="muted">#{{owner_id}}</span></td><td>{{type}}</td>
    <td><span class="badge s-{{status}}">{{status}}</span>{{#error_code}} <span class="muted">{{error_code}}</span>{{/error_code}}</td>
    <td class="num">{{size}}</td><td>{{created}}</td></tr>
    {{/items}}
    {{^items}}<tr><td colspan="9" class="muted">No media match.</td></tr>{{/items}}
    </tbody></table></form>
    <div class="pager">{{#previous}}<a href="{{previous}}" rel="prev">← Newer</a>{{/previous}}
    <span class="muted">Page {{page}} of {{pages}}</span>{{#next}}<a href="{{next}}" rel="next">Older →</a>{{/next}}</div>
    <script>
    document.getElementById('all').addEventListener('change',function(e){document.querySelectorAll('input[name=ids]').forEach(function(b){b.checked=e.target.checked})});
    // Live status: each row's badge follows its media's events (every user's, for staff) as they happen.
    if(window.EventSource){var es=new EventSource('/admin/events/');
    es.onopen=function(){document.getElementById('live').hidden=false};
    es.onerror=function(){document.getElementById('live').hidden=true};
    ['media.progress','media.ready','media.failed','media.deleted'].forEach(function(t){es.addEventListener(t,function(e){
    var d=JSON.parse(e.data),row=document.querySelector('#media tr[data-id="'+d.id+'"]');if(!row)return;var b=row.querySelector('.badge');
    if(t==='media.progress'){b.textContent='processing '+Math.round(d.percent)+' %';return}
    var s=t==='media.deleted'?'deleted':d.status;row.setAttribute('data-status',s);b.className='badge s-'+s;b.textContent=s;
    var ph=row.querySelector('.ph');if(t==='media.ready'&&d.thumbnail_url&&ph){var i=document.createElement('img');i.className='thumb';i.src=d.thumbnail_url;i.alt='';ph.replaceWith(i)}
    })})}
    {{#live}}else setTimeout(function(){if(!document.querySelector('input[name=ids]:checked')&&document.activeElement.tagName!=='INPUT')location.reload()},3000);{{/live}}
    </script>
    {{> foot}}
    """#

    static let detail = #"""
    {{> head}}
    <p><a href="/admin/mediafiles/media/">← All media</a></p>
    <h1>{{filename}} <span class="badge s-{{status}}" id="status">{{status}}</span></h1>
    <form method="post" action="/admin/mediafiles/media/" class="bar">
    <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="return" value="{{return}}">
    <input type="hidden" name="ids" value="{{id}}">
    <button type="submit" name="action" value="reprocess" id="reprocess"{{^failed}} disabled title="Only failed media are reprocessed"{{/failed}}>Reprocess</button>
    {{#is_public}}<button type="submit" name="action" value="make_private" class="secondary">Make private</button>{{/is_public}}
    {{^is_public}}<button type="submit" name="action" value="make_public" class="secondary">Make public</button>{{/is_public}}
    <button type="submit" name="action" value="delete" class="danger" id="delete">Delete</button>
    </form>
    {{#error_code}}<p class="error" id="media-error"><b>{{error_code}}</b>: {{error_message}}</p>{{/error_code}}
    <h2>Renditions</h2>
    {{#video}}<div class="player"><video id="player" controls preload="auto" src="{{video}}"{{#poster}} poster="{{poster}}"{{/poster}}></video></div>{{/video}}
    {{#audio}}<div class="player"><audio id="player" controls preload="auto" src="{{audio}}"></audio>
    {{#waveform}}<div id="waveform">{{{waveform}}}</div>{{/waveform}}{{^waveform}}<p class="muted">No waveform yet.</p>{{/waveform}}</div>{{/audio}}
    {{#has_images}}<div class="grid">{{/has_images}}{{#images}}<figure><img src="{{url}}" alt="{{name}}" data-rendition="{{name}}"><figcaption>{{name}}{{#size}} · {{size}}{{/size}}</figcaption></figure>{{/images}}{{#has_images}}</div>{{/has_images}}
    {{^ready}}<p class="muted">Renditions appear once the media is ready (status {{status}}).</p>{{/ready}}
    <p><a href="{{original}}">Original file</a></p>
    <div class="cols"><div><h2>Media</h2><table class="kv">
    {{#facts}}<tr><th>{{name}}</th><td>{{value}}</td></tr>{{/facts}}
    </table></div><div><h2>Processing</h2><table class="kv">
    {{#processing}}<tr><th>{{name}}</th><td>{{value}}</td></tr>{{/processing}}
    </table><h2>Metadata</h2><pre>{{metadata}}</pre></div></div>
    <script>
    // Live status: progress in the badge; when the media is ready or failed, the page is drawn again with its renditions.
    if(window.EventSource){var es=new EventSource('/admin/events/');
    ['media.progress','media.ready','media.failed'].forEach(function(t){es.addEventListener(t,function(e){
    var d=JSON.parse(e.data);if(d.id!=={{id}})return;var b=document.getElementById('status');
    if(t==='media.progress'){b.textContent='processing '+Math.round(d.percent)+' %'}else{es.close();location.reload()}})})}
    </script>
    {{> foot}}
    """#

    static let deadLetters = #"""
    {{> head}}
    <h1>Dead letters</h1>
    <p class="muted">Messages that failed their last attempt (SPEC §6). Replay republishes each to its original queue with a fresh
    attempt count once its cause is gone; deleted or superseded media are skipped and removed.</p>
    <h2>Groups</h2>
    <table id="groups"><thead><tr><th>Queue</th><th>Failure code</th><th class="num">Count</th><th>Oldest</th><th>Newest</th><th></th></tr></thead><tbody>
    {{#groups}}<tr><td class="nowrap">{{queue}}</td><td>{{code}}</td><td class="num">{{count}}</td><td class="nowrap">{{oldest}}</td><td class="nowrap">{{newest}}</td>
    <td><form method="post" action="/admin/dead-letters/replay" class="inline"><input type="hidden" name="csrf_token" value="{{csrf}}">
    <input type="hidden" name="queue" value="{{queue}}"><input type="hidden" name="code" value="{{code}}">
    <button type="submit" class="replay-group">Replay group</button> <button type="submit" name="dry_run" value="1" class="secondary">Dry run</button></form></td></tr>{{/groups}}
    {{^groups}}<tr><td colspan="6" class="muted">No dead letters.</td></tr>{{/groups}}
    </tbody></table>
    {{#has_letters}}<h2>Messages</h2>
    <table id="letters"><thead><tr><th>Queue</th><th>Event</th><th>Media</th><th>Code</th><th>Message</th><th class="num">Attempts</th><th>First failed</th><th class="num">Replays</th><th></th></tr></thead><tbody>
    {{/has_letters}}{{#letters}}<tr><td class="nowrap">{{queue}}</td><td><code title="{{event_id}}">{{event_short}}</code></td>
    <td>{{#media_id}}<a href="/admin/mediafiles/media/{{media_id}}/">{{media_id}}</a>{{/media_id}}</td><td>{{code}}</td><td class="message" title="{{message}}">{{message_short}}</td>
    <td class="num">{{attempts}}</td><td class="nowrap">{{first_failed}}</td><td class="num">{{replays}}</td>
    <td><form method="post" action="/admin/dead-letters/replay" class="inline"><input type="hidden" name="csrf_token" value="{{csrf}}">
    <input type="hidden" name="event_id" value="{{event_id}}"><button type="submit" class="secondary">Replay</button></form></td></tr>{{/letters}}
    {{#has_letters}}</tbody></table>
    <div class="pager">{{#previous}}<a href="{{previous}}">← Previous</a>{{/previous}}<span class="muted">Page {{page}} of {{pages}}</span>{{#next}}<a href="{{next}}">Next →</a>{{/next}}</div>{{/has_letters}}
    {{> foot}}
    """#

    static let janitor = #"""
    {{> head}}
    <h1>Janitor</h1>
    <p class="muted">Scheduled clean-up (SPEC §4). The Janitor service runs these on its own schedule; run one now, or see what it would
    do with a dry run (nothing is changed).</p>
    <table id="tasks"><thead><tr><th>Task</th><th>What it does</th><th>Last run</th><th>Result</th><th></th></tr></thead><tbody>
    {{#tasks}}<tr><td><b>{{name}}</b></td><td class="muted">{{about}}</td><td>{{#last}}{{started}} · {{trigger}}{{#dry_run}} · dry run{{/dry_run}}{{/last}}{{^last}}<span class="muted">never</span>{{/last}}</td>
    <td>{{#last}}{{counts}}{{#error}} <span class="badge s-failed">{{error}}</span>{{/error}}{{/last}}</td>
    <td><form method="post" action="/admin/janitor/run" class="inline"><input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="task" value="{{name}}">
    <button type="submit" name="dry_run" value="1" class="secondary dry-run" data-task="{{name}}">Dry run</button> <button type="submit" data-task="{{name}}">Run now</button></form></td></tr>{{/tasks}}
    </tbody></table>
    <h2>Recent runs</h2>
    <table id="runs"><thead><tr><th class="num">Run</th><th>Task</th><th>Started (UTC)</th><th class="num">Took</th><th>Trigger</th><th>Instance</th><th>Mode</th><th>Counts</th><th>Error</th></tr></thead><tbody>
    {{#runs}}<tr><td class="num">{{id}}</td><td>{{task}}</td><td>{{started}}</td><td class="num">{{took}}</td><td>{{trigger}}</td><td class="muted">{{instance}}</td>
    <td>{{#dry_run}}dry run{{/dry_run}}{{^dry_run}}live{{/dry_run}}</td><td>{{counts}}</td><td>{{error}}</td></tr>{{/runs}}
    {{^runs}}<tr><td colspan="9" class="muted">No runs yet.</td></tr>{{/runs}}
    </tbody></table>
    {{> foot}}
    """#

    static let stats = #"""
    {{> head}}
    <h1>Stats</h1>
    <div class="figures"><div><span class="muted">Media</span><b id="total">{{total}}</b></div><div><span class="muted">Stored originals</span><b>{{total_size}}</b></div>
    <div><span class="muted">Uploads, last {{days}} days</span><b>{{uploads}}</b></div></div>
    <div class="charts">
    <div class="chart"><h2>Media by type</h2>{{{by_type}}}</div>
    <div class="chart"><h2>Media by status</h2>{{{by_status}}}</div>
    <div class="chart" style="grid-column:1/-1"><h2>Uploads per day (UTC), last {{days}} days</h2>{{{per_day}}}</div>
    <div class="chart" style="grid-column:1/-1"><h2>Processing time per type (ready media of the last {{days}} days)</h2>{{{processing}}}</div>
    </div>
    {{> foot}}
    """#
}
