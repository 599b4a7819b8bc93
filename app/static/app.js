// Enlist's few behaviours that HTML and htmx do not give: menu on touch, suggestions, Escape, error toasts.
(function () {
  "use strict";

  // The green "+" menu opens on hover and focus in CSS; a click toggles it for touch screens.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".add-button");
    document.querySelectorAll(".add-menu.open").forEach(function (menu) {
      if (!button || menu !== button.parentElement) {
        menu.classList.remove("open");
        menu.querySelector(".add-button").setAttribute("aria-expanded", "false");
      }
    });
    if (button) {
      var open = button.parentElement.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  // "Use 'OLeary'": put the validator's suggestion in its input and validate again.
  document.addEventListener("click", function (event) {
    var suggestion = event.target.closest("button.suggest");
    if (!suggestion) return;
    var input = document.getElementById(suggestion.dataset.fill);
    if (!input) return;
    input.value = suggestion.dataset.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  });

  // Escape leaves an inline edit; Enter in an inline edit saves it.
  document.addEventListener("keydown", function (event) {
    var row = event.target.closest && event.target.closest("tr.editing");
    if (!row) return;
    if (event.key === "Escape") {
      htmx.trigger(row, "cancel");
    } else if (event.key === "Enter" && event.target.tagName === "INPUT") {
      event.preventDefault();
      var save = row.querySelector("button.primary");
      if (save) save.click();
    }
  });

  // Errors htmx does not swap (403, 404, 413, 429, 500...) are shown, not swallowed.
  document.addEventListener("htmx:responseError", function (event) {
    var toast = document.getElementById("toast");
    var text = event.detail.xhr.responseText || "";
    var doc = new DOMParser().parseFromString(text, "text/html");
    var message = (doc.querySelector(".flash, p") || doc.body || {}).textContent || "";
    toast.textContent = message.trim() || ("The portal answered " + event.detail.xhr.status + ".");
    toast.hidden = false;
    setTimeout(function () { toast.hidden = true; }, 6000);
  });
  document.addEventListener("htmx:sendError", function () {
    var toast = document.getElementById("toast");
    toast.textContent = "The portal cannot be reached. Check the network and try again.";
    toast.hidden = false;
  });
})();

// Upload: choosing a file sends it at once; a file dropped on the zone is sent the same way.
(function () {
  "use strict";
  function send(form) {
    var note = form.querySelector(".uploading");
    if (note) note.hidden = false;
    form.submit();
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=file][data-autosubmit]") && event.target.files.length) {
      send(event.target.form);
    }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    send(zone);
  });
})();

// Send to cloud: "select all" ticks every sendable row of the page; the button counts the selection;
// the table's live refresh waits while a row is being edited or rows are selected.
(function () {
  "use strict";
  function selected() {
    return document.querySelectorAll("input[name=user_ids][form=send-form]:checked").length;
  }
  function label() {
    var button = document.querySelector("#send-form .send-selected");
    if (button) button.textContent = "Send selected to cloud" + (selected() ? " (" + selected() + ")" : "");
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input.select-all")) {
      document.querySelectorAll("input[name=user_ids][form=send-form]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("input.select-all, input[name=user_ids]")) label();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.elt;
    if (target && target.id === "users-table" && event.detail.requestConfig.triggeringEvent &&
        event.detail.requestConfig.triggeringEvent.type === "users-changed" &&
        (target.querySelector("tr.editing") || selected())) {
      event.preventDefault();
    }
  });
  document.addEventListener("htmx:afterSwap", label);
})();

// Selection in a table (the Catalog's): "select all" ticks every box of its name in the form, and the form's
// counter says how many are ticked. Works again after htmx swaps the table (delegated, recounted on swap).
(function () {
  "use strict";

  function recount(form) {
    form.querySelectorAll("[data-selected-count]").forEach(function (counter) {
      var name = counter.dataset.selectedCount;
      counter.textContent = form.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked').length;
    });
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.form || box.type !== "checkbox") return;
    if (box.dataset.selectAll) {
      box.form.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]:not(:disabled)').forEach(function (b) {
        b.checked = box.checked;
      });
    }
    recount(box.form);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && form.querySelector("[data-selected-count]")) recount(form);
  });
})();
