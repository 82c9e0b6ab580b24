// Swagger UI draws some controls with no name a screen reader can say; name them as they appear.
const NAMES = [
    [".close-modal", "Close"],
    ["textarea.body-param__text", "Request body"],
];

function nameControls() {
    for (const [selector, label] of NAMES) {
        document.querySelectorAll(`${selector}:not([aria-label])`).forEach((el) => el.setAttribute("aria-label", label));
    }
    // "Authorize" labelled "Apply credentials": speech users say what they see, so the name is its text.
    document.querySelectorAll("button.modal-btn[aria-label]").forEach((el) => el.removeAttribute("aria-label"));
}

new MutationObserver(nameControls).observe(document.getElementById("swagger-ui"), {childList: true, subtree: true});
