// Renders the maths that pymdownx.arithmatex (generic mode) leaves in
// <span class="arithmatex">\(...\)</span> and <div class="arithmatex">\[...\]</div>
// with the KaTeX bundled under assets/katex/: no request leaves the site.
function gnnkitRenderMath(root) {
  root.querySelectorAll(".arithmatex").forEach(function (el) {
    var tex = el.textContent.trim();
    var display = el.tagName === "DIV" || tex.startsWith("\\[");
    tex = tex.replace(/^\\[\[(]/, "").replace(/\\[\])]$/, "");
    try {
      katex.render(tex, el, { displayMode: display, throwOnError: true });
    } catch (err) {
      console.error("KaTeX could not render " + JSON.stringify(tex) + ": " + err.message);
    }
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(function () { gnnkitRenderMath(document.body); });   // material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", function () { gnnkitRenderMath(document.body); });
}
