// The admin console's only script (served as a file: the pages' Content-Security-Policy allows no inline script).
// Every page works without it; it adds "select all" and live status (SPEC §8's stream, every user's, for staff).
(function () {
  var page = document.body.getAttribute('data-page');

  function list() {
    var all = document.getElementById('all');
    if (all) all.addEventListener('change', function (e) {
      document.querySelectorAll('input[name="ids[]"]').forEach(function (b) { b.checked = e.target.checked; });
    });
    // Each row's badge follows its media's events as they happen.
    if (window.EventSource) {
      var es = new EventSource('/admin/events/');
      es.onopen = function () { document.getElementById('live').hidden = false; };
      es.onerror = function () { document.getElementById('live').hidden = true; };
      ['media.progress', 'media.ready', 'media.failed', 'media.deleted'].forEach(function (t) {
        es.addEventListener(t, function (e) {
          var d = JSON.parse(e.data), row = document.querySelector('#media tr[data-id="' + d.id + '"]');
          if (!row) return;
          var b = row.querySelector('.badge');
          if (t === 'media.progress') { b.textContent = 'processing ' + Math.round(d.percent) + ' %'; return; }
          var s = t === 'media.deleted' ? 'deleted' : d.status;
          row.setAttribute('data-status', s); b.className = 'badge s-' + s; b.textContent = s;
          var ph = row.querySelector('.ph');
          if (t === 'media.ready' && d.thumbnail_url && ph) {
            var i = document.createElement('img'); i.className = 'thumb'; i.src = d.thumbnail_url; i.alt = ''; ph.replaceWith(i);
          }
        });
      });
    } else if (document.body.getAttribute('data-live')) {
      setTimeout(function () {
        if (!document.querySelector('input[name="ids[]"]:checked') && document.activeElement.tagName !== 'INPUT') location.reload();
      }, 3000);
    }
  }

  function detail() {
    // Progress in the badge; when the media is ready or failed, the page is drawn again with its renditions.
    var id = Number(document.body.getAttribute('data-media-id'));
    if (!window.EventSource || !id) return;
    var es = new EventSource('/admin/events/');
    ['media.progress', 'media.ready', 'media.failed'].forEach(function (t) {
      es.addEventListener(t, function (e) {
        var d = JSON.parse(e.data);
        if (d.id !== id) return;
        var b = document.getElementById('status');
        if (t === 'media.progress') { b.textContent = 'processing ' + Math.round(d.percent) + ' %'; }
        else { es.close(); location.reload(); }
      });
    });
  }

  if (page === 'list') list();
  if (page === 'detail') detail();
})();
