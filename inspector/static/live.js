// The live page: follow mode's updates pushed by the inspector (server-sent events),
// applied to the page without a reload. Text only (textContent), never markup.
"use strict";
(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const MAX_OUTLIERS = 200;

  // As the server renders prices and statistics (inspector.app.number): 2 decimals,
  // thousands separated by commas.
  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function count(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
  }
  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "n";
    row.appendChild(td);
  }
  function total(name, text) {
    const element = root.querySelector('[data-total="' + name + '"]');
    if (element) element.textContent = text;
  }

  function apply(update) {
    root.dataset.batchId = String(update.batch_id);
    document.getElementById("batch").textContent = "batch " + update.batch_id;
    total("messages", count(update.messages));
    total("decoded", count(update.decoded));
    const bad = Object.keys(update.undecodable).sort()
      .map((reason) => reason + " " + count(update.undecodable[reason]));
    total("undecodable", bad.length ? bad.join(", ") : "none");
    total("writer_schema_ids", update.writer_schema_ids.join(", "));
    total("lag", update.lag === null ? "?" : count(update.lag));

    const body = document.getElementById("statistics");
    const rows = update.statistics.map((s) => {
      const row = document.createElement("tr");
      row.dataset.symbol = s.symbol;
      row.dataset.currency = s.currency === null ? "" : s.currency;
      row.dataset.count = String(s.count);
      cell(row, s.symbol);
      cell(row, s.currency === null ? "–" : s.currency);
      cell(row, count(s.count), true);
      cell(row, number(s.min), true);
      cell(row, number(s.max), true);
      cell(row, number(s.mean), true);
      cell(row, number(s.stddev), true);
      return row;
    });
    body.replaceChildren(...rows);

    const outliers = document.getElementById("outliers");
    for (const o of update.new_outliers) {
      const row = document.createElement("tr");
      cell(row, String(update.batch_id));
      cell(row, o.ts);
      cell(row, o.symbol);
      cell(row, o.currency === null ? "–" : o.currency);
      cell(row, number(o.price), true);
      cell(row, number(o.z), true);
      outliers.insertBefore(row, outliers.firstChild);
    }
    while (outliers.children.length > MAX_OUTLIERS) outliers.removeChild(outliers.lastChild);
  }

  function status(problem) {
    const line = document.getElementById("status");
    line.textContent = problem || "";
    line.hidden = !problem;
  }

  const source = new EventSource(root.dataset.events);
  source.addEventListener("update", (event) => apply(JSON.parse(event.data).update));
  source.addEventListener("status", (event) => status(JSON.parse(event.data).problem));
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.OPEN) status("the inspector does not answer; reconnecting");
  });
})();
