"use strict";
// The schedule form: show only the chosen schedule kind's fields and the chosen job's
// parameters. Without JavaScript every field and every job's parameters stay visible.
document.addEventListener("DOMContentLoaded", () => {
  const kinds = document.querySelectorAll("fieldset.schedule-kind");
  const showKind = () => {
    const chosen = document.querySelector('input[name="schedule_type"]:checked');
    kinds.forEach((fieldset) => {
      fieldset.hidden = !chosen || !fieldset.classList.contains(`kind-${chosen.value}`);
    });
  };
  document.querySelectorAll('input[name="schedule_type"]').forEach((radio) => {
    radio.addEventListener("change", showKind);
  });
  showKind();

  const job = document.getElementById("id_job");
  const tables = document.querySelectorAll("table.job-parameters");
  const none = document.querySelector(".job-parameters-none");
  const showJob = () => {
    let shown = false;
    tables.forEach((table) => {
      table.hidden = !job || table.dataset.job !== job.value;
      shown = shown || !table.hidden;
    });
    if (none) none.hidden = shown;
  };
  if (job) job.addEventListener("change", showJob);
  showJob();
});
