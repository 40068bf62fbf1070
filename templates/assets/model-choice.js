// The limits form's model checkboxes: "Any model" and the single models exclude each other, so
// what the person sees ticked is what the app gets. Without this, ticking "gpt-4o-mini" under a
// still-ticked "Any model" looks like a limit but grants every model (the server reads "Any
// model" as winning). Unticking the last model leaves none ticked — the server then asks the
// person to choose — rather than silently widening the grant back to any model.
"use strict";

(() => {
  const forms = new Set([...document.querySelectorAll('input[name="models"]')].map((input) => input.form));
  for (const form of forms) {
    if (!form) continue;
    const boxes = [...form.querySelectorAll('input[type="checkbox"][name="models"]')];
    const any = boxes.find((box) => box.value === "*");
    if (!any) continue;
    const models = boxes.filter((box) => box !== any);
    any.addEventListener("change", () => {
      if (any.checked) for (const box of models) box.checked = false;
    });
    for (const box of models) {
      box.addEventListener("change", () => {
        if (box.checked) any.checked = false;
      });
    }
  }
})();
