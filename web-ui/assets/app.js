// Maillon: small improvements when JavaScript runs; every page works without it.
(function () {
  // Ask before irreversible actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var chosen = form.querySelector("input[type=radio][data-confirm]:checked");
    var question = chosen ? chosen.getAttribute("data-confirm") : form.getAttribute("data-confirm");
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
  // Share a prepared message: the browser's share sheet where it has one, the clipboard
  // otherwise. Without JavaScript the button stays hidden and the message sits in its field.
  document.querySelectorAll("button[data-share]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-share"));
    var status = document.getElementById(button.getAttribute("data-share") + "-etat");
    if (!field) { return; }
    var said = function (text) { if (status) { status.textContent = text; } };
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = field.value;
      if (navigator.share) {
        navigator.share({ text: text }).catch(function () {});
        return;
      }
      var copied = button.getAttribute("data-copied");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { said(copied); },
          function () { field.select(); });
        return;
      }
      field.select();
      if (document.execCommand && document.execCommand("copy")) { said(copied); }
    });
  });
  // A listing's photo full screen on tap, where the browser can; otherwise the link opens
  // the full-size photo.
  document.querySelectorAll("a[data-plein-ecran]").forEach(function (link) {
    var img = link.querySelector("img");
    if (!img || !img.requestFullscreen) { return; }
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (document.fullscreenElement) { document.exitFullscreen(); return; }
      img.sizes = "100vw";
      img.requestFullscreen().catch(function () { window.location = link.href; });
    });
  });
})();
