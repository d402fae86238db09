// The search box of the course site: lunr's index and the sections' titles come from
// search-index.js (a script, not JSON fetched at run time, so that it works from file://).
// The query goes through what the index went through (tools/search_index.js: lunr's tokenizer,
// stop-word filter and stemmer), so "samples" finds the sections indexed under "sampl".
(function () {
  var data = window.COURSE_SEARCH, input = document.getElementById("course-search");
  if (!data || !window.lunr || !input) return;
  var index = lunr.Index.load(data.index);
  var list = document.getElementById("course-search-results");
  var status = document.getElementById("course-search-status");
  var SHOWN = 12;  // hits listed before the "show all" button
  function stems(query) {
    // lunr's tokenizer splits at white space and hyphens; its trimmer drops the rest
    return query.toLowerCase().split(/[^\w\u00c0-\u024f]+/).filter(Boolean)
      .map(function (word) { return new lunr.Token(word); })
      .filter(function (token) { return lunr.stopWordFilter(token); })
      .map(function (token) { return lunr.stemmer(token).toString(); });
  }
  function search(query) {
    var terms = stems(query), typing = !/\s$/.test(query);
    if (!terms.length) return [];
    // every word must occur; the last one may be unfinished (the reader is still typing)
    var hits = index.query(function (q) {
      terms.forEach(function (term, i) {
        q.term(term, {usePipeline: false, presence: lunr.Query.presence.REQUIRED,
                      wildcard: typing && i === terms.length - 1 ? lunr.Query.wildcard.TRAILING
                                                                   : lunr.Query.wildcard.NONE});
      });
    });
    // headings first: a section whose title holds every word (stemmed) above one whose
    // text only mentions them
    function inTitle(hit) {
      var found = hit.matchData.metadata;
      return terms.every(function (term) { return found[term] && found[term].title; });
    }
    hits.forEach(function (hit, i) { hit.rank = (inTitle(hit) ? 0 : 1) * 1e6 + i; });
    return hits.sort(function (a, b) { return a.rank - b.rank; });
  }
  function item(hit) {
    var doc = data.docs[hit.ref], li = document.createElement("li"),
        a = document.createElement("a");
    a.href = doc.url;
    a.textContent = doc.title;
    li.appendChild(a);
    li.appendChild(document.createTextNode(" (" + doc.page + ")"));
    return li;
  }
  function show() {
    var query = input.value.replace(/^\s+/, "");
    list.innerHTML = "";
    if (query.trim().length < 2) { status.textContent = ""; return; }
    var hits = search(query);
    status.textContent = !hits.length ? "nothing found"
      : hits.length + (hits.length === 1 ? " section found" : " sections found");
    hits.slice(0, SHOWN).forEach(function (hit) { list.appendChild(item(hit)); });
    if (hits.length > SHOWN) {
      var li = document.createElement("li"), more = document.createElement("button");
      more.type = "button";
      more.className = "course-search-more";
      more.textContent = "show all " + hits.length;
      more.addEventListener("click", function () {
        li.remove();
        hits.slice(SHOWN).forEach(function (hit) { list.appendChild(item(hit)); });
      });
      li.appendChild(more);
      list.appendChild(li);
    }
  }
  input.addEventListener("input", show);
  show();
})();
