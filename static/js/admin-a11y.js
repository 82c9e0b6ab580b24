// Django admin's widgets, made readable by screen readers once its own scripts have built them
// (this file comes last in the page, so its load handler runs after theirs).
window.addEventListener("load", () => {
    // The filter boxes' magnifier icons carry an aria-label on a plain span, which assistive
    // technology ignores: as an image, its label is read as part of the box's label.
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach((icon) => {
        icon.setAttribute("role", "img");
    });
    // A split date and time is one field: its two inputs are a group named by the field's label
    // ("Starts at: group, Date:"), as the label itself points at neither.
    document.querySelectorAll(".form-row p.datetime").forEach((group, i) => {
        const label = group.parentElement.querySelector(":scope > label");
        if (!label) return;
        label.id ||= `datetime-label-${i}`;
        group.setAttribute("role", "group");
        group.setAttribute("aria-labelledby", label.id);
    });
});
