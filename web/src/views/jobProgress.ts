// The running jobs, in the top bar: what each computes, a progress bar and a cancel button.
import { clear, h } from "../lib/dom";
import type { JobActions, TrackedJob } from "../state/jobs";

export function mountJobProgress(root: HTMLElement, jobs: JobActions): void {
  root.classList.add("jobs");
  root.dataset.testid = "jobs";
  root.setAttribute("aria-live", "polite");

  function row(t: TrackedJob): HTMLElement {
    const { job } = t;
    const bar = h("progress", { "data-testid": "job-progress", "data-job": job.id, max: Math.max(1, job.total), value: job.done, title: job.message });
    if (job.total === 0) bar.removeAttribute("value"); // indeterminate until the job knows its size
    const cancel = h("button", { "data-testid": "job-cancel", title: `stop ${t.label}` }, "Cancel");
    cancel.addEventListener("click", () => jobs.cancel(job.id, `${t.label}: cancelled`));
    const step = job.total ? ` ${job.done}/${job.total}` : "";
    const text = job.kind === "network-load" ? `${t.label} · ${job.message}${step}` : `${t.label} ·${step || ` ${job.message}`}`;
    return h("div", { class: "job", "data-status": job.status }, h("span", { class: "job-label" }, text), bar, cancel);
  }

  jobs.subscribe((list) => {
    clear(root);
    root.hidden = list.length === 0;
    for (const t of list) root.append(row(t));
  });
  root.hidden = true;
}
