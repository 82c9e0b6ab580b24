// The System page's live part: fetched again every few seconds while the page is open.
const box = document.getElementById("system-status");
const every = Number(box.dataset.refreshSeconds) * 1000;

async function refresh() {
  try {
    const response = await fetch(box.dataset.url, {headers: {Accept: "text/html"}, credentials: "same-origin"});
    if (response.ok) box.innerHTML = await response.text();
  } catch {
    // Offline for a moment: the next round tries again.
  }
  setTimeout(refresh, every);
}
setTimeout(refresh, every);
