// Optional conveniences; every page works without them.
(function () {
  "use strict";
  // Copy buttons: shown only when the clipboard API is there.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    if (!navigator.clipboard) return;
    btn.hidden = false;
    var label = btn.textContent;
    btn.addEventListener("click", function () {
      var field = document.getElementById(btn.getAttribute("data-copy"));
      navigator.clipboard.writeText(field.value).then(function () {
        btn.textContent = btn.getAttribute("data-done");
        setTimeout(function () { btn.textContent = label; }, 2000);
      }, function () { field.select(); });
    });
  });
  // The error summary takes the focus, so a screen reader reads it first.
  var errors = document.getElementById("errors");
  if (errors) errors.focus();
})();
