// The course site's search index, built once at site-build time: reads the sections as JSON
// ([{id, title, body}]) on stdin, writes lunr's serialised index on stdout.
//   node tools/search_index.js node_modules/lunr < sections.json > index.json
const lunr = require(require("path").resolve(process.argv[2]));
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
