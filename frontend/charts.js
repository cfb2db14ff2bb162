// CivicStat's chart runtime: Vega-Lite specs rendered with vega-embed, bundled into one file at
// set-up (`make frontend`, esbuild) so pages load it from the site itself.
//
// Vega compiles chart expressions with `new Function` by default, which the site's
// Content-Security-Policy forbids (no 'unsafe-eval'). vega-interpreter evaluates the same
// expressions without eval, so charts render under the strict policy.
import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";

// Render every <div data-vega-spec="ID"> whose spec sits in <script type="application/json" id="ID">
// (Django's json_script), so templates need no inline script of their own.
export function renderCharts(root = document) {
  for (const el of root.querySelectorAll("[data-vega-spec]")) {
    const source = document.getElementById(el.dataset.vegaSpec);
    if (!source || el.dataset.vegaRendered) continue;
    el.dataset.vegaRendered = "1";
    const spec = JSON.parse(source.textContent);
    // vega-embed and vega-tooltip would inject <style> elements, which `style-src 'self'` blocks;
    // their few rules live in the site's own stylesheet instead (maps.css: .vega-embed, tooltip).
    embed(el, spec, {
      actions: false, ast: true, expr: expressionInterpreter, renderer: "svg",
      defaultStyle: false, tooltip: { disableDefaultStyle: true },
    })
      .catch((error) => {
        el.textContent = "The chart could not be drawn; the table below has the same figures.";
        console.warn(error);
      });
  }
}

window.civicstatCharts = { render: renderCharts, embed };
document.addEventListener("DOMContentLoaded", () => renderCharts());
document.addEventListener("htmx:afterSettle", (event) => renderCharts(event.target));
