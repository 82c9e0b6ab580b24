// Every time on a page says its zone: <time datetime data-style> elements (rendered by the
// `when` template tag, or arriving live) are formatted in the staff member's zone — the
// one their profile names (<body data-time-zone>), else the browser's — or in their own
// data-zone (a callee's). The browser's zone goes to the server in a cookie, so pages
// rendered later already use it.

// The same shapes as dialer_site/templatetags/dashboard.py's TIME_STYLES.
const TIME_STYLES = {
  datetime: { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" },
  time: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
  clock: { hour: "2-digit", minute: "2-digit" },
};

export function pageZone() {
  return document.body.dataset.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function formatTime(date, style, zone = pageZone()) {
  return new Intl.DateTimeFormat("en-US", {
    ...TIME_STYLES[style], hourCycle: "h23", timeZone: zone, timeZoneName: "short",
  }).format(date);
}

export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime][data-style]")) {
    const date = new Date(node.getAttribute("datetime"));
    if (Number.isNaN(date.getTime()) || !(node.dataset.style in TIME_STYLES)) continue;
    try {
      node.textContent = formatTime(date, node.dataset.style, node.dataset.zone || pageZone());
    } catch (e) {
      console.error(e); // an unknown zone name: the server's rendering stays
    }
  }
}

const BROWSER_COOKIE = "browser_time_zone"; // staff/time_zones.py

function rememberBrowserZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || document.cookie.split("; ").includes(`${BROWSER_COOKIE}=${encodeURIComponent(zone)}`)) return;
  document.cookie = `${BROWSER_COOKIE}=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Lax`;
}

function labelZone() {
  const label = document.getElementById("time-zone");
  if (!label) return;
  const name = new Intl.DateTimeFormat("en-US", { timeZone: pageZone(), timeZoneName: "short" })
    .formatToParts(new Date()).find((p) => p.type === "timeZoneName").value;
  label.textContent = `Times in ${name}`;
  label.title = `${pageZone()} — change`;
}

rememberBrowserZone();
labelZone();
localizeTimes();
