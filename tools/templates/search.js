// The search box of the course site: lunr's index and the sections' titles come from
// search-index.js (a script, not JSON fetched at run time, so that it works from file://).
(function () {
  var data = window.COURSE_SEARCH, input = document.getElementById("course-search");
  if (!data || !window.lunr || !input) return;
  var index = lunr.Index.load(data.index);
  var list = document.getElementById("course-search-results");
  var status = document.getElementById("course-search-status");
  function search(query) {
    var terms = query.toLowerCase().split(/[^\w\u00c0-\u024f*-]+/).filter(Boolean);
    if (!terms.length) return [];
    // every word must occur; the last one may be unfinished (the reader is still typing)
    return index.query(function (q) {
      terms.forEach(function (term, i) {
        q.term(term, {presence: lunr.Query.presence.REQUIRED,
                      wildcard: i === terms.length - 1 ? lunr.Query.wildcard.TRAILING
                                                       : lunr.Query.wildcard.NONE});
      });
    });
  }
  function show() {
    var query = input.value.trim();
    list.innerHTML = "";
    if (query.length < 2) { status.textContent = ""; return; }
    var hits = search(query);
    status.textContent = !hits.length ? "nothing found"
      : hits.length + (hits.length === 1 ? " section found" : " sections found");
    hits.slice(0, 12).forEach(function (hit) {
      var doc = data.docs[hit.ref], li = document.createElement("li"),
          a = document.createElement("a");
      a.href = doc.url;
      a.textContent = doc.title;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" (" + doc.page + ")"));
      list.appendChild(li);
    });
  }
  input.addEventListener("input", show);
  show();
})();
