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

// Copy buttons: a button with data-copy="ID" copies the value of that field, or the text
// of that element (a list: one item a line), and says "Copied" in the status next to it.
// The buttons are hidden in the markup and shown here, so that without JavaScript there
// is none (the secret stays selectable in its field).
(function () {
  "use strict";
  function textOf(source) {
    if (source.tagName === "INPUT" || source.tagName === "TEXTAREA") {
      return source.value;
    }
    var items = source.querySelectorAll("li");
    if (items.length) {
      return Array.prototype.map.call(items, function (li) {
        return li.textContent.trim();
      }).join("\n");
    }
    return source.textContent.trim();
  }
  function select(source) {
    if (source.select) {
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  // Plain-HTTP installations have no clipboard API; the older command still copies a
  // selection there.
  function copy(source) {
    var text = textOf(source);
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    select(source);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function say(status, message) {
    if (!status) {
      return;
    }
    // Emptied first, so that copying twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = message;
    }, 50);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    var status = document.getElementById(id + "-copied");
    if (!source) {
      return;
    }
    copy(source).then(function () {
      say(status, "Copied");
    }, function () {
      select(source);
      say(status, "Not copied: the text is selected, copy it with Ctrl+C or ⌘C");
    });
  });
})();
