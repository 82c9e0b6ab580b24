"""axe-core (npm, MPL-2.0; package.json pins it and scripts/test.sh installs it) run inside a
page: the serious and critical WCAG 2.x A/AA violations it finds, described for a person."""

from tests.dashboard.browser import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

RUN_AXE = """async () => {
    const result = await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + n.failureSummary.split('\\n')[1]),
    }));
}"""


def blocking_violations(page) -> list[str]:
    """Serious or critical violations on the page as it is now, one line each."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm install --no-package-lock` (scripts/test.sh does)")
    page.add_script_tag(path=str(AXE))
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {'; '.join(v['nodes'])}"
            for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
