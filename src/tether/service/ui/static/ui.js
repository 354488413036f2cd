// Keeps pages current without a build step: the executions table refreshes in place, and a
// running execution's page reloads, unless the person is typing (or typed into the send form) or has turned
// refreshing off.
(function () {
  "use strict";
  function typedInto() {
    // Something typed into a form that keeps its inputs (the send form) would be lost by a reload.
    var inputs = document.querySelectorAll("form[data-keep] input, form[data-keep] textarea");
    return Array.prototype.some.call(inputs, function (input) { return input.value !== input.defaultValue; });
  }
  function busy() {
    var active = document.activeElement;
    return (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.id !== "auto-refresh") || typedInto();
  }
  var table = document.querySelector("table[data-refresh]");
  var toggle = document.getElementById("auto-refresh");
  if (table) {
    setInterval(function () {
      if ((toggle && !toggle.checked) || busy()) return;
      fetch(table.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (reply) { return reply.ok ? reply.text() : null; })
        .then(function (html) { if (html !== null) document.getElementById("rows").innerHTML = html; })
        .catch(function () {});
    }, 5000);
  }
  var reloading = document.querySelector("[data-reload]");
  if (reloading) {
    setTimeout(function () { if (!busy()) window.location.reload(); },
               1000 * Number(reloading.getAttribute("data-reload")));
  }
})();
