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
      focusOpener(returnTo);
    });
    dialog.showModal();
  });

  // The button that opened a dialog, or, when it sat in a row menu that has closed
  // since, that menu's button: focus must not fall to <body>.
  function focusOpener(element) {
    if (!element || !document.body.contains(element)) {
      return;
    }
    var menu = element.closest("details.menu");
    if (menu && !menu.open) {
      menu.querySelector("summary").focus();
    } else {
      element.focus();
    }
  }

  // A confirmed change reloads the page (a plain form post, then a redirect back to the
  // same view). Before it goes, remember which other rows were ticked and where focus
  // was, so that the page that comes back keeps both.
  var KEY = "roster.after-action";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.closest || !form.closest("dialog") || form.method === "dialog") {
      return;
    }
    var concerned = (form.getAttribute("data-concerns") || "").split(/\s+/);
    var ticked = [];
    document.querySelectorAll('input[type="checkbox"][name="ids"]:checked').forEach(function (box) {
      if (concerned.indexOf(box.value) < 0) {
        ticked.push(box.value);
      }
    });
    var state = { ticked: ticked, rows: [], control: null, index: null };
    var anyRow = opener && opener.closest("tbody tr");
    if (anyRow) {
      state.index = Array.prototype.indexOf.call(anyRow.parentNode.children, anyRow);
    }
    var row = opener && opener.closest("tr[id]");
    if (row) {
      // The row itself, then the rows after it, then before it: the first one still
      // there after the change gets focus (a removed row is gone).
      var next = row;
      while (next) {
        if (next.id) { state.rows.push(next.id); }
        next = next.nextElementSibling;
      }
      var prev = row.previousElementSibling;
      while (prev) {
        if (prev.id) { state.rows.push(prev.id); }
        prev = prev.previousElementSibling;
      }
    }
    if (opener && opener.name && opener.value) {
      state.control = { name: opener.name, value: opener.value };
    }
    var back = form.querySelector('input[name="return_to"]');
    state.at = back ? back.value : null;
    try {
      sessionStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      // Private modes may refuse storage; the change itself goes ahead.
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var state;
    try {
      state = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (e) {
      state = null;
    }
    // Only on the view the change went back to (a refusal shows another page).
    if (!state || state.at !== location.pathname + location.search) {
      return;
    }
    state.ticked.forEach(function (id) {
      var box = document.querySelector('input[type="checkbox"][name="ids"][value="' + CSS.escape(id) + '"]');
      if (box) {
        box.checked = true;
      }
    });
    var target = null;
    for (var i = 0; i < state.rows.length && !target; i++) {
      var row = document.getElementById(state.rows[i]);
      target = row && row.querySelector("summary, button, a");
    }
    if (!target && state.control) {
      target = document.querySelector('[name="' + CSS.escape(state.control.name) + '"][value="' + CSS.escape(state.control.value) + '"]');
    }
    if (!target && state.index !== null) {
      // A row without an id that is gone: the one that took its place, or the last.
      var rows = document.querySelectorAll("main tbody tr");
      var near = rows[Math.min(state.index, rows.length - 1)];
      target = near && near.querySelector("summary, button, a");
    }
    if (!target && state.index !== null) {
      // No rows are left: the page's heading.
      target = document.querySelector("main h1");
      if (target) {
        target.setAttribute("tabindex", "-1");
      }
    }
    if (target) {
      target.focus();
    }
    // Read the message out again: a live region that already holds text when the page
    // loads is not announced.
    var flash = document.getElementById("flash");
    if (flash && flash.innerHTML.trim()) {
      var said = flash.innerHTML;
      flash.innerHTML = "";
      setTimeout(function () { flash.innerHTML = said; }, 150);
    }
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
// is ticked. A click on one still goes to the server, whose "Select at least one …
// first" appears beside the buttons and is announced: a silent button would leave a
// screen reader's user guessing.
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
  document.addEventListener("DOMContentLoaded", function () {
    sync(document);
  });
  document.addEventListener("htmx:afterSwap", function () {
    sync(document);
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
