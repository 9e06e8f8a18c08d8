// Maillon: small improvements when JavaScript runs; every page works without it.
(function () {
  // Ask before irreversible actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Show how many photos are chosen, and refuse more than the limit before upload.
  document.querySelectorAll("input[type=file][data-max]").forEach(function (input) {
    input.addEventListener("change", function () {
      var max = parseInt(input.getAttribute("data-max"), 10);
      var note = document.getElementById(input.id + "-count");
      if (input.files.length > max) {
        input.setCustomValidity(input.getAttribute("data-too-many"));
      } else {
        input.setCustomValidity("");
      }
      if (note) { note.textContent = input.files.length + " / " + max; }
    });
  });
})();
