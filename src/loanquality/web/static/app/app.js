// Behaviour every page shares. No inline handlers: the Content-Security-Policy runs only
// scripts served from /static.
(function () {
  // a select marked data-submit-on-change submits its form when a value is picked
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-submit-on-change]")) event.target.form.submit();
  });
})();
