/* MLEE static site: table sorting and filtering, the index's search, the scatter (plotly.js,
   bundled in assets/). Plain script, no request: every datum is in the page or in a <script src>
   file, so the site works from file:// as on any static host. Text reaches the page through
   textContent only, never innerHTML: names can be hostile. */
(function () {
  "use strict";

  function cellKey(row, col, type) {
    var cell = row.cells[col];
    var raw = cell ? cell.getAttribute("data-sort") : "";
    if (type === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    return raw === null ? (cell ? cell.textContent.toLowerCase() : "") : raw;
  }

  function sortTable(table, col, type, button) {
    var th = button.closest("th");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, type), y = cellKey(b, col, type);
      if (x === y) return 0;
      if (x === null || x === "") return 1;   /* missing values last, either way */
      if (y === null || y === "") return -1;
      var order = x < y ? -1 : 1;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("thead th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function filterTable(table) {
    var text = document.getElementById("filter");
    var level = document.getElementById("level-filter");
    var words = (text ? text.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = level ? level.value : "";
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], content = row.textContent.toLowerCase();
      var ok = words.every(function (w) { return content.indexOf(w) >= 0; }) &&
               (!wanted || row.getAttribute("data-level") === wanted);
      row.hidden = !ok;
      if (ok) shown++;
    }
    var count = document.getElementById("filter-count");
    if (count) count.textContent = shown + " of " + rows.length + " entries shown";
  }

  function setUpTables() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("button.sort").forEach(function (button) {
        button.addEventListener("click", function () {
          sortTable(table, parseInt(button.getAttribute("data-col"), 10), button.getAttribute("data-type"), button);
        });
      });
    });
    ["filter", "level-filter"].forEach(function (id) {
      var control = document.getElementById(id);
      if (!control) return;
      var table = document.getElementById(control.getAttribute("data-table"));
      control.addEventListener("input", function () { filterTable(table); });
      control.addEventListener("change", function () { filterTable(table); });
    });
  }

  var MAX_RESULTS = 50;

  function setUpSearch() {
    var box = document.getElementById("search");
    var list = document.getElementById("search-results");
    var count = document.getElementById("search-count");
    var data = window.MLEE_SEARCH || [];
    if (!box || !list) return;
    var texts = data.map(function (d) { return (d[0] + " " + d[1] + " " + d[2]).toLowerCase(); });
    box.addEventListener("input", function () {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.textContent = "";
      if (!words.length) { count.textContent = ""; return; }
      var found = 0;
      for (var i = 0; i < data.length; i++) {
        if (!words.every(function (w) { return texts[i].indexOf(w) >= 0; })) continue;
        found++;
        if (found > MAX_RESULTS) continue;
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = data[i][3];
        link.textContent = data[i][0];
        var level = document.createElement("span");
        level.className = "level-note";
        level.textContent = " level " + data[i][4] + " · " + data[i][1] + " · " + data[i][2];
        item.appendChild(link);
        item.appendChild(level);
        list.appendChild(item);
      }
      count.textContent = found + " found" + (found > MAX_RESULTS ? " (first " + MAX_RESULTS + " listed)" : "");
    });
  }

  function setUpScatter() {
    var holder = document.getElementById("scatter");
    var source = document.getElementById("scatter-data");
    if (!holder || !source || !window.Plotly) return;
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(holder, figure.data, figure.layout,
                          {displaylogo: false, responsive: true, showLink: false, showSendToCloud: false});
    holder.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (point && point.customdata) window.location.href = point.customdata;
    });
  }

  function start() {
    setUpTables();
    setUpSearch();
    setUpScatter();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}());
