(function () {
  "use strict";
  // Every value shown comes from the scan (tag values, resource ids, messages):
  // it is only ever placed with textContent, attribute setters and option values,
  // never parsed as HTML.
  var data = JSON.parse(document.getElementById("orgscan-data").textContent);
  var checks = data.checks, accounts = data.accounts, regions = data.regions;
  var statuses = data.statuses, severities = data.severities, resourceTypes = data.resourceTypes;
  var rows = data.rows;
  var F = { check: 0, status: 1, severity: 2, account: 3, region: 4, type: 5, id: 6, arn: 7, message: 8, evidence: 9, fingerprint: 10, suppression: 11, change: 12 };
  var PASS = statuses.indexOf("PASS");

  var changes = data.changes || [];
  var state = { ou: "", text: "", account: "", region: "", check: "", severity: "", status: "not-pass", change: "",
                sort: "", direction: 1, page: 0, pageSize: 100, suppressed: "hide" };
  // Accepted risks (a suppression file was applied) are hidden until the "Accepted risks" filter shows them.
  var suppressedFilter = byId("filter-suppressed");
  var hiddenSuppressed = 0;
  var visible = [];
  var opened = {};
  var haystack = null;

  function byId(id) { return document.getElementById(id); }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function addOptions(select, labels) {
    for (var i = 0; i < labels.length; i++) {
      var option = document.createElement("option");
      option.value = String(i);
      option.textContent = labels[i];
      select.appendChild(option);
    }
  }

  function accountLabel(index) {
    var account = accounts[index];
    return account.name ? account.id + " (" + account.name + ")" : account.id;
  }

  function searchText(row) {
    var check = checks[row[F.check]], account = accounts[row[F.account]];
    return [check.id, check.title, account.id, account.name, regions[row[F.region]], resourceTypes[row[F.type]],
            row[F.id], row[F.arn] || "", row[F.message], JSON.stringify(row[F.evidence]), statuses[row[F.status]],
            severities[row[F.severity]]].join("\u0001").toLowerCase();
  }

  // Whether an account is under the chosen OU (its own OU or one above it); every account when none is chosen.
  function inChosenOu(accountIndex) {
    return state.ou === "" || (accounts[accountIndex].ous || ["unknown"]).indexOf(state.ou) !== -1;
  }

  function matches(row, index, terms) {
    if (suppressedFilter) {
      var accepted = !!row[F.suppression];
      if (state.suppressed === "only" && !accepted) { return false; }
      if (state.suppressed === "hide" && accepted) { hiddenSuppressed += 1; return false; }
    }
    if (!inChosenOu(row[F.account])) { return false; }
    if (state.status === "not-pass") { if (row[F.status] === PASS) { return false; } }
    else if (state.status !== "" && row[F.status] !== +state.status) { return false; }
    if (state.account !== "" && row[F.account] !== +state.account) { return false; }
    if (state.region !== "" && row[F.region] !== +state.region) { return false; }
    if (state.check !== "" && row[F.check] !== +state.check) { return false; }
    if (state.severity !== "" && row[F.severity] !== +state.severity) { return false; }
    if (state.change !== "" && row[F.change] !== +state.change) { return false; }
    for (var t = 0; t < terms.length; t++) {
      if (haystack[index].indexOf(terms[t]) === -1) { return false; }
    }
    return true;
  }

  var sortValue = {
    status: function (row) { return row[F.status]; },
    severity: function (row) { return row[F.severity]; },
    account: function (row) { return accounts[row[F.account]].id; },
    region: function (row) { return regions[row[F.region]]; },
    check: function (row) { return checks[row[F.check]].id; },
    resource: function (row) { return row[F.id]; },
    message: function (row) { return row[F.message]; }
  };

  function applyFilters() {
    var terms = state.text.toLowerCase().split(/\s+/).filter(function (term) { return term.length > 0; });
    if (terms.length && haystack === null) { haystack = rows.map(searchText); }
    visible = [];
    hiddenSuppressed = 0;
    for (var i = 0; i < rows.length; i++) {
      if (matches(rows[i], i, terms)) { visible.push(i); }
    }
    if (state.sort) {
      var value = sortValue[state.sort], direction = state.direction;
      visible.sort(function (a, b) {
        var x = value(rows[a]), y = value(rows[b]);
        if (x < y) { return -direction; }
        if (x > y) { return direction; }
        return a - b;
      });
    }
    state.page = 0;
    render();
  }

  function link(url) {
    if (!/^https?:\/\//i.test(url)) { return element("span", null, url); }
    var anchor = element("a", null, url);
    anchor.setAttribute("href", url);
    anchor.setAttribute("rel", "noopener noreferrer");
    anchor.setAttribute("target", "_blank");
    return anchor;
  }

  function addDetail(list, term, content) {
    list.appendChild(element("dt", null, term));
    var description = element("dd");
    if (typeof content === "string") { description.textContent = content; } else { description.appendChild(content); }
    list.appendChild(description);
  }

  function detailsRow(index) {
    var row = rows[index], check = checks[row[F.check]];
    var tr = element("tr", "details");
    var td = element("td");
    td.colSpan = 7;
    var list = element("dl");
    addDetail(list, "Message", row[F.message]);
    addDetail(list, "Check", check.id + ": " + check.title);
    var suppression = row[F.suppression];
    if (suppression) {
      addDetail(list, "Accepted risk", suppression[2]);
      addDetail(list, "Accepted by", suppression[0]);
      addDetail(list, "Accepted until", suppression[1]);
      addDetail(list, "Suppression entry", suppression[3]);
    }
    if (check.rationale) { addDetail(list, "Why it matters", check.rationale); }
    addDetail(list, "Resource", resourceTypes[row[F.type]] + " " + row[F.id]);
    if (row[F.arn]) { addDetail(list, "ARN", row[F.arn]); }
    addDetail(list, "Evidence", element("pre", null, JSON.stringify(row[F.evidence], null, 2)));
    var remediation = check.remediation || {};
    if (remediation.text) { addDetail(list, "Remediation", remediation.text); }
    if (remediation.cli) { addDetail(list, "CLI", element("pre", null, remediation.cli)); }
    if (remediation.iac) { addDetail(list, "Infrastructure as code", element("pre", null, remediation.iac)); }
    var references = (check.references || []).slice();
    if (remediation.url && references.indexOf(remediation.url) === -1) { references.unshift(remediation.url); }
    if (references.length) {
      var referenceList = element("ul");
      references.forEach(function (url) { var item = element("li"); item.appendChild(link(url)); referenceList.appendChild(item); });
      addDetail(list, "References", referenceList);
    }
    if (check.compliance && check.compliance.length) {
      addDetail(list, "Compliance", check.compliance.map(function (c) { return c.framework + " " + c.control; }).join("; "));
    }
    addDetail(list, "Fingerprint", row[F.fingerprint]);
    td.appendChild(list);
    tr.appendChild(td);
    return tr;
  }

  function render() {
    var body = byId("findings-body");
    body.textContent = "";
    var pages = Math.max(1, Math.ceil(visible.length / state.pageSize));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * state.pageSize, end = Math.min(visible.length, start + state.pageSize);
    var fragment = document.createDocumentFragment();
    for (var v = start; v < end; v++) {
      var index = visible[v], row = rows[index], check = checks[row[F.check]];
      var tr = element("tr", "finding");
      tr.setAttribute("data-index", String(index));
      var statusCell = element("td", "status-" + statuses[row[F.status]], statuses[row[F.status]]);
      if (row[F.suppression]) {
        tr.className = "finding suppressed";
        statusCell.appendChild(element("span", "accepted", "accepted \u00b7 " + row[F.suppression][0] + " \u00b7 until " + row[F.suppression][1]));
      }
      tr.appendChild(statusCell);
      var severityCell = element("td");
      severityCell.appendChild(element("span", "sev sev-" + severities[row[F.severity]], severities[row[F.severity]]));
      tr.appendChild(severityCell);
      tr.appendChild(element("td", null, accountLabel(row[F.account])));
      tr.appendChild(element("td", null, regions[row[F.region]]));
      var checkCell = element("td", null, check.id);
      checkCell.title = check.title;
      tr.appendChild(checkCell);
      tr.appendChild(element("td", "resource", row[F.id]));
      tr.appendChild(element("td", null, row[F.message]));
      fragment.appendChild(tr);
      if (opened[index]) { fragment.appendChild(detailsRow(index)); }
    }
    body.appendChild(fragment);
    byId("findings-count").textContent = visible.length === 0
      ? "No result matches the filters."
      : "Showing " + (start + 1) + "\u2013" + end + " of " + visible.length + " matching results (" + rows.length + " in total).";
    if (hiddenSuppressed) {
      byId("findings-count").textContent += " " + hiddenSuppressed + " accepted risk(s) hidden (see the Accepted risks filter).";
    }
    byId("page-label").textContent = "Page " + (state.page + 1) + " of " + pages;
    byId("page-previous").disabled = state.page === 0;
    byId("page-next").disabled = state.page >= pages - 1;
    var headers = document.querySelectorAll("#findings-table th[data-sort]");
    for (var h = 0; h < headers.length; h++) {
      var key = headers[h].getAttribute("data-sort");
      headers[h].className = key === state.sort ? (state.direction > 0 ? "sorted-asc" : "sorted-desc") : "";
    }
  }

  function percentText(counts) {
    var judged = counts.PASS + counts.FAIL;
    return judged === 0 ? "n/a" : (counts.PASS * 100 / judged).toFixed(1) + "%";
  }

  // The summary cards and failures by severity, for the chosen OU.
  function recountSummary() {
    var counts = { FAIL: 0, ERROR: 0, PASS: 0, NOT_APPLICABLE: 0 }, bySeverity = {};
    severities.forEach(function (s) { bySeverity[s] = 0; });
    for (var r = 0; r < rows.length; r++) {
      if (!inChosenOu(rows[r][F.account])) { continue; }
      var status = statuses[rows[r][F.status]];
      counts[status] += 1;
      if (status === "FAIL") { bySeverity[severities[rows[r][F.severity]]] += 1; }
    }
    var cells = document.querySelectorAll("#summary [data-summary]");
    for (var c = 0; c < cells.length; c++) {
      var key = cells[c].getAttribute("data-summary");
      if (key === "rate") { cells[c].textContent = percentText(counts); }
      else if (key.indexOf("sev-") === 0) { cells[c].textContent = String(bySeverity[key.slice(4)] || 0); }
      else { cells[c].textContent = String(counts[key] || 0); }
    }
  }

  // A compliance control counts the results of its checks (in the chosen OU); its status is the worst present.
  function recountControls() {
    var controls = document.querySelectorAll("#compliance tr[data-checks]");
    for (var c = 0; c < controls.length; c++) {
      var wanted = controls[c].getAttribute("data-checks").split(" ");
      var counts = { FAIL: 0, ERROR: 0, PASS: 0, NOT_APPLICABLE: 0 }, failing = {};
      for (var r = 0; r < rows.length; r++) {
        if (!inChosenOu(rows[r][F.account]) || wanted.indexOf(checks[rows[r][F.check]].id) === -1) { continue; }
        var status = statuses[rows[r][F.status]];
        counts[status] += 1;
        if (status === "FAIL") { failing[accounts[rows[r][F.account]].id] = true; }
      }
      var worst = ["FAIL", "ERROR", "PASS", "NOT_APPLICABLE"].filter(function (s) { return counts[s] > 0; })[0] || "NO_RESULTS";
      var cells = controls[c].querySelectorAll("td[data-count]");
      for (var k = 0; k < cells.length; k++) {
        var key = cells[k].getAttribute("data-count");
        if (key === "status") { cells[k].textContent = worst; cells[k].className = "status-" + worst; }
        else if (key === "accounts") { cells[k].textContent = Object.keys(failing).sort().join(", "); }
        else { cells[k].textContent = String(counts[key]); }
      }
    }
  }

  // The OU filter applies to every view: accounts (and their OU groups), the matrix, the checks' counts
  // (recounted from the results of the OU's accounts) and the findings.
  function applyOu() {
    var tagged = document.querySelectorAll("[data-ous]");
    for (var i = 0; i < tagged.length; i++) {
      var ous = tagged[i].getAttribute("data-ous").split(" ");
      tagged[i].hidden = state.ou !== "" && ous.indexOf(state.ou) === -1;
    }
    var groups = document.querySelectorAll("details.ou-group");
    for (var g = 0; g < groups.length; g++) {
      groups[g].hidden = groups[g].querySelector("tr[data-ous]:not([hidden])") === null;
    }
    var counts = {};
    checks.forEach(function (check) { counts[check.id] = { FAIL: 0, ERROR: 0, PASS: 0, NOT_APPLICABLE: 0 }; });
    for (var r = 0; r < rows.length; r++) {
      if (inChosenOu(rows[r][F.account])) { counts[checks[rows[r][F.check]].id][statuses[rows[r][F.status]]] += 1; }
    }
    recountControls();
    recountSummary();
    var checkRows = document.querySelectorAll("#checks tr[data-check]");
    for (var c = 0; c < checkRows.length; c++) {
      var own = counts[checkRows[c].getAttribute("data-check")];
      if (!own) { continue; }
      var cells = checkRows[c].querySelectorAll("td[data-count]");
      for (var k = 0; k < cells.length; k++) {
        var key = cells[k].getAttribute("data-count");
        cells[k].textContent = key === "rate" ? percentText(own) : String(own[key]);
      }
    }
    applyFilters();
  }

  function bindSelect(id, key) {
    byId(id).addEventListener("change", function (event) { state[key] = event.target.value; applyFilters(); });
  }

  addOptions(byId("filter-account"), accounts.map(function (a, i) { return accountLabel(i); }));
  addOptions(byId("filter-region"), regions);
  addOptions(byId("filter-check"), checks.map(function (c) { return c.id; }));
  addOptions(byId("filter-severity"), severities);
  addOptions(byId("filter-status"), statuses);
  bindSelect("filter-account", "account");
  bindSelect("filter-region", "region");
  bindSelect("filter-check", "check");
  bindSelect("filter-severity", "severity");
  bindSelect("filter-status", "status");
  if (suppressedFilter) { bindSelect("filter-suppressed", "suppressed"); }
  // Only a report compared with a baseline has the change filter (the "Since the last scan" section).
  if (byId("filter-change")) {
    addOptions(byId("filter-change"), changes);
    bindSelect("filter-change", "change");
  }
  if (byId("filter-ou")) {
    byId("filter-ou").addEventListener("change", function (event) { state.ou = event.target.value; applyOu(); });
  }

  var typing = null;
  byId("filter-text").addEventListener("input", function (event) {
    clearTimeout(typing);
    var value = event.target.value;
    typing = setTimeout(function () { state.text = value; applyFilters(); }, 150);
  });
  byId("page-size").addEventListener("change", function (event) { state.pageSize = +event.target.value; state.page = 0; render(); });
  byId("page-previous").addEventListener("click", function () { state.page -= 1; render(); });
  byId("page-next").addEventListener("click", function () { state.page += 1; render(); });
  byId("filter-reset").addEventListener("click", function () {
    ["filter-account", "filter-region", "filter-check", "filter-severity"].forEach(function (id) { byId(id).value = ""; });
    byId("filter-status").value = "not-pass";
    byId("filter-text").value = "";
    if (byId("filter-change")) { byId("filter-change").value = ""; }
    state.text = state.account = state.region = state.check = state.severity = state.change = "";
    state.status = "not-pass";
    if (suppressedFilter) { suppressedFilter.value = state.suppressed = "hide"; }
    applyFilters();
  });

  var headers = document.querySelectorAll("#findings-table th[data-sort]");
  for (var h = 0; h < headers.length; h++) {
    headers[h].addEventListener("click", function (event) {
      var key = event.currentTarget.getAttribute("data-sort");
      state.direction = state.sort === key ? -state.direction : 1;
      state.sort = key;
      applyFilters();
    });
  }

  byId("findings-body").addEventListener("click", function (event) {
    var tr = event.target.closest("tr.finding");
    if (!tr) { return; }
    var index = +tr.getAttribute("data-index");
    if (opened[index]) { delete opened[index]; } else { opened[index] = true; }
    render();
  });

  // A matrix cell shows that account's results of that check, whatever their status (accepted risks too).
  var accountIndexes = {}, checkIndexes = {};
  accounts.forEach(function (a, i) { accountIndexes[a.id] = i; });
  checks.forEach(function (k, i) { checkIndexes[k.id] = i; });
  var matrixChecks = Array.prototype.map.call(document.querySelectorAll(".matrix thead th.check"),
    function (th) { return th.getAttribute("data-check"); });
  var matrix = document.querySelector(".matrix tbody");
  if (matrix) {
    matrix.addEventListener("click", function (event) {
      var cell = event.target.closest("td.cell");
      if (!cell || cell.classList.contains("cell-none")) { return; }
      var accountIndex = accountIndexes[cell.parentNode.getAttribute("data-account")];
      var checkIndex = checkIndexes[matrixChecks[cell.cellIndex - 1]];
      if (accountIndex === undefined || checkIndex === undefined) { return; }
      state.account = byId("filter-account").value = String(accountIndex);
      state.check = byId("filter-check").value = String(checkIndex);
      state.status = byId("filter-status").value = "";
      if (suppressedFilter) { state.suppressed = suppressedFilter.value = "show"; }
      applyFilters();
      byId("findings").scrollIntoView();
    });
  }

  applyFilters();
  document.documentElement.setAttribute("data-ready", "true");
})();
