// The script editor's "Add a question" / "Add a rule": a copy of the formset's empty form
// (its <template>), numbered as Django's formsets expect (TOTAL_FORMS counts it in).
for (const button of document.querySelectorAll("[data-add]")) {
  const prefix = button.dataset.add;
  const section = document.getElementById(prefix);
  const total = section.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  button.addEventListener("click", () => {
    const index = Number(total.value);
    const html = section.querySelector("template[data-empty]").innerHTML
      .replaceAll("__prefix__", String(index)).replaceAll("__number__", String(index + 1));
    const steps = section.querySelector("[data-steps]");
    steps.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    steps.lastElementChild.querySelector("input, textarea, select").focus();
  });
}
