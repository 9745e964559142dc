// ketamine-ptsd page script: progressive enhancement only; every page works without it.
// 1. Drafts: forms with data-draft="key" are copied to localStorage as they are typed and
//    restored into empty fields on load, so a reload or a dropped connection loses nothing.
//    Drafts are removed on sign-out (shared tablets), after a successful assessment, and when
//    the server marks a form data-draft-clear (its last submission was stored); fields the
//    server names in data-draft-forget (a name prefix) are dropped from the draft.
// 2. Live score: forms with data-score-url post their items to the JSON scoring endpoint
//    (CSRF header from the page's meta tag) and show the total or what is still missing.
// 3. A refused form moves the focus to the first field in error (see focusError).
(function () {
  "use strict";
  var PREFIX = "kp-draft:";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.type !== "hidden" && el.type !== "submit" && el.type !== "password";
    });
  }
  function save(form) {
    var data = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) { data[el.name + "=" + el.value] = true; }
      } else if (el.value !== "") {
        data[el.name] = el.value;
      }
    });
    try { localStorage.setItem(PREFIX + form.dataset.draft, JSON.stringify(data)); } catch (e) { /* storage full or blocked */ }
  }
  // Fields the server has stored (e.g. the morning's blood-pressure readings, which count once
  // each): their draft is dropped so that sending the form again cannot enter them twice.
  function forget(form, prefix) {
    var raw = null;
    try { raw = localStorage.getItem(PREFIX + form.dataset.draft); } catch (e) { return; }
    if (!raw) { return; }
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    Object.keys(data).forEach(function (k) { if (k.indexOf(prefix) === 0) { delete data[k]; } });
    try { localStorage.setItem(PREFIX + form.dataset.draft, JSON.stringify(data)); } catch (e) { /* ignore */ }
  }
  function restore(form) {
    var raw = null;
    try { raw = localStorage.getItem(PREFIX + form.dataset.draft); } catch (e) { return; }
    if (!raw) { return; }
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    var group = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        group[el.name] = group[el.name] || form.querySelector('[name="' + el.name + '"]:checked') !== null;
      }
    });
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (!group[el.name] && data[el.name + "=" + el.value]) { el.checked = true; }
      } else if (el.value === "" && typeof data[el.name] === "string") {
        el.value = data[el.name];
      }
    });
  }
  function liveScore(form) {
    var out = document.getElementById("live-score");
    if (!out) { return; }
    var timer = null;
    function run() {
      var items = {};
      form.querySelectorAll("[data-item]").forEach(function (el) {
        if (el.value === "") { return; }
        var n = Number(el.value);
        items[el.dataset.item] = (el.type === "number" && el.value.trim() !== "" && !isNaN(n)) ? n : el.value;
      });
      fetch(form.dataset.scoreUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ items: items })
      }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
        .then(function (res) {
          form.querySelectorAll(".item.live-bad").forEach(function (row) { row.classList.remove("live-bad", "bad"); });
          if (res.status === 422 && res.body.field) {
            var key = String(res.body.field).split(".item_")[1];
            var row = document.getElementById("row-" + key);
            if (row) { row.classList.add("live-bad", "bad"); }
            out.textContent = "Item " + key + ": " + res.body.detail;
          } else if (res.status === 200 && res.body.complete) {
            out.textContent = res.body.total !== null ? "Total " + res.body.total + " (complete)" : "Complete";
          } else if (res.status === 200) {
            out.textContent = (res.body.running_sum !== null ? "Running sum " + res.body.running_sum + " · " : "") +
              res.body.answered + " answered — incomplete";
          } else {
            out.textContent = "Score unavailable (" + res.status + ")";
          }
        }).catch(function () { out.textContent = "Offline: the score is checked when you submit"; });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 250); });
    if (form.querySelector("[data-item]")) { run(); }
  }
  // 3. A refused form: the first field named in an error gets the focus and is scrolled into
  //    view (a field the server marked autofocus keeps it), so the nurse lands on what to fix.
  function focusError() {
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var target = null;
    var named = document.querySelector(".field-error[id^='field-error-']");
    if (named) {
      target = document.querySelector('[name="' + named.id.slice("field-error-".length) + '"]');
    }
    if (!target) { target = document.querySelector('[aria-invalid="true"]'); }
    if (!target) {
      var error = document.querySelector("p.error[role=alert]");
      if (error) {
        var form = error.nextElementSibling;
        target = form && form.tagName === "FORM" ?
          form.querySelector("input:not([type=hidden]), select, textarea") : null;
        if (!target) { error.setAttribute("tabindex", "-1"); target = error; }
      }
    }
    if (target) {
      target.focus();
      if (target.scrollIntoView) { target.scrollIntoView({ block: "center" }); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusError();
    document.querySelectorAll("a[data-focus]").forEach(function (link) {  // the error list
      link.addEventListener("click", function (event) {
        var box = document.querySelector('[name="' + link.dataset.focus + '"]');
        if (box) { event.preventDefault(); box.focus(); box.scrollIntoView({ block: "center" }); }
      });
    });
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      if (form.hasAttribute("data-draft-clear")) {  // the server stored this form's last submit
        try { localStorage.removeItem(PREFIX + form.dataset.draft); } catch (e) { /* ignore */ }
      }
      if (form.dataset.draftForget) { forget(form, form.dataset.draftForget); }
      restore(form);
      form.addEventListener("input", function () { save(form); });
      form.addEventListener("change", function () { save(form); });
      if (document.getElementById("result")) {
        try { localStorage.removeItem(PREFIX + form.dataset.draft); } catch (e) { /* ignore */ }
      }
    });
    document.querySelectorAll("form[data-score-url]").forEach(liveScore);
    document.querySelectorAll("form[data-clear-drafts]").forEach(function (form) {
      form.addEventListener("submit", function () {
        try {
          Object.keys(localStorage).forEach(function (k) { if (k.indexOf(PREFIX) === 0) { localStorage.removeItem(k); } });
        } catch (e) { /* ignore */ }
      });
    });
  });
})();
