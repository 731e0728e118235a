// Roster's small progressive enhancements. Every action works without this file.
(function () {
  "use strict";

  // htmx settings that a strict Content-Security-Policy needs, and error responses that
  // swap (the server retargets them to the flash area).
  if (window.htmx) {
    htmx.config.includeIndicatorStyles = false;
    htmx.config.allowEval = false;
    htmx.config.allowScriptTags = false;
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }

  // Every htmx request carries the CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
})();

// Confirmation dialogs: htmx swaps a <dialog> into #dialog-slot; open it as a modal
// (focus goes to its autofocus button) and, when it closes, give focus back to the
// button that asked for it.
(function () {
  "use strict";
  var opener = null;
  // Only requests for a dialog count: polling elsewhere must not steal the opener.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "dialog-slot") {
      opener = event.detail.elt;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "dialog-slot") {
      return;
    }
    var dialog = event.detail.target.querySelector("dialog");
    if (!dialog) {
      return;
    }
    var returnTo = opener;
    dialog.addEventListener("close", function () {
      dialog.remove();
      if (returnTo && document.body.contains(returnTo)) {
        returnTo.focus();
      }
    });
    dialog.showModal();
  });
})();

// Type-to-confirm: a form's submit button with data-confirm-input="ID" stays disabled
// until the input with that id holds exactly its data-confirm-value (compared without
// case or surrounding spaces). Without JavaScript the button works and the server checks.
(function () {
  "use strict";
  function matches(input) {
    var want = (input.getAttribute("data-confirm-value") || "").trim().toLowerCase();
    return input.value.trim().toLowerCase() === want;
  }
  function sync(root) {
    root.querySelectorAll("button[data-confirm-input]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-confirm-input"));
      if (input) {
        button.disabled = !matches(input);
      }
    });
  }
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-confirm-value")) {
      sync(event.target.form || document);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    sync(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    sync(event.detail.target);
  });
})();

// Menus (<details class="menu">): one open at a time; Escape or a click elsewhere closes
// it, and Escape gives focus back to its button.
(function () {
  "use strict";
  function closeAll(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) {
        menu.open = false;
      }
    });
  }
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details.menu") && menu.open) {
      closeAll(menu);
    }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.menu")) {
      closeAll(null);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) {
      return;
    }
    var menu = event.target.closest && event.target.closest("details.menu[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
})();

// Bulk actions: a select-all box (shown, with its label, only with this file, as only
// it can tick the others) ticks every box named by its data-select-all in its form; a group with
// data-needs-selection="NAME" marks its buttons aria-disabled while no box of that name
// is ticked, and stops their clicks (before htmx sees them). Without this file the
// buttons stay usable and the server answers "Select at least one … first".
(function () {
  "use strict";
  function boxes(form, name) {
    return form ? Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="' + name + '"]')) : [];
  }
  function sync(root) {
    root.querySelectorAll("[data-needs-selection]").forEach(function (group) {
      var form = group.closest("form");
      var name = group.getAttribute("data-needs-selection");
      var none = !boxes(form, name).some(function (b) { return b.checked; });
      group.querySelectorAll("button").forEach(function (button) {
        if (none) {
          button.setAttribute("aria-disabled", "true");
        } else {
          button.removeAttribute("aria-disabled");
        }
      });
    });
    root.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var ticks = boxes(all.form || all.closest("form"), all.getAttribute("data-select-all"));
      var ticked = ticks.filter(function (b) { return b.checked; }).length;
      (all.closest("label") || all).hidden = ticks.length === 0;
      all.checked = ticks.length > 0 && ticked === ticks.length;
      all.indeterminate = ticked > 0 && ticked < ticks.length;
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[data-select-all]")) {
      boxes(target.form || target.closest("form"), target.getAttribute("data-select-all")).forEach(function (b) {
        b.checked = target.checked;
      });
    }
    if (target.matches && target.matches('input[type="checkbox"]')) {
      sync(document);
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('[data-needs-selection] button[aria-disabled="true"]');
    if (button) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    sync(document);
  });
  document.addEventListener("htmx:afterSwap", function () {
    sync(document);
  });
})();
