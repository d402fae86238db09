// The course site's search index, built once at site-build time: reads the sections as JSON
// ([{id, title, body}]) on stdin, writes lunr's serialised index on stdout.
//   node tools/search_index.js node_modules/lunr < sections.json > index.json
const lunr = require(require("path").resolve(process.argv[2]));
// Words are cut at anything that is not a letter or digit ("noise/variance", "(samples)"), as
// the search box cuts the query (tools/templates/search.js).
lunr.tokenizer.separator = /[^\w\u00c0-\u024f]+/;
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const sections = JSON.parse(input);
  const index = lunr(function () {
    this.ref("id");
    this.field("title", { boost: 10 });
    this.field("body");
    sections.forEach((section) => this.add(section));
  });
  process.stdout.write(JSON.stringify(index));
});
