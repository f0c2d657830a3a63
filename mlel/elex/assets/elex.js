// Slider tooltips: the boundary sliders run on log10(index); show the index itself.
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.elexPow10 = function (value) {
  return Number(Math.pow(10, value).toPrecision(3));
};

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  elex: {
    // The view's query (made on the server) -> the address bar and the link field. replaceState:
    // a slider move adds no history entry, and the page is not opened again.
    showLink: function (query) {
      if (typeof query !== "string" || query.charAt(0) !== "?") {
        return window.dash_clientside.no_update;
      }
      const url = window.location.origin + window.location.pathname + query;
      if (window.location.search !== query) {
        window.history.replaceState(window.history.state, "", url);
      }
      return url;
    },
    // New settings re-rate every row: the grid asks the server again for the rows it shows.
    refreshGrid: function (settings, gridId) {
      if (window.dash_ag_grid && window.dash_ag_grid.getApiAsync) {
        window.dash_ag_grid.getApiAsync(gridId).then(function (api) {
          api.refreshInfiniteCache();
        }).catch(function () {});
      }
      return Date.now();
    },
  },
});

// Names for assistive technology where Dash 4's widgets leave them out: a radio group or checklist
// is a listbox of labels around native inputs (no name, nested interactive roles), a dropdown's
// keyboard target is an input hidden from screen readers, an upload's file input has no label.
// The page names each control once (data-elex-label on its box); this gives the widget that name.
(function () {
  function set(element, attribute, value) {  // only a change: each write is a mutation we observe
    if (element.getAttribute(attribute) !== value) {
      element.setAttribute(attribute, value);
    }
  }
  function nameWidgets(root) {
    root.querySelectorAll("[data-elex-label]").forEach(function (box) {
      const name = box.getAttribute("data-elex-label");
      box.querySelectorAll(".dash-options-list").forEach(function (list) {
        const radio = list.querySelector("input[type='radio']");
        set(list, "role", radio ? "radiogroup" : "group");
        set(list, "aria-label", name);
      });
      box.querySelectorAll(".dash-options-list-option[role], .dash-options-list-option[aria-selected]").forEach(function (option) {
        option.removeAttribute("role");
        option.removeAttribute("aria-selected");
      });
      box.querySelectorAll(".dash-dropdown-focus-target").forEach(function (target) {
        const value = target.parentNode.querySelector(".dash-dropdown-value");
        target.removeAttribute("aria-hidden");
        set(target, "aria-label", name + ": " + (value ? value.textContent : ""));
        set(target, "aria-haspopup", "listbox");
      });
      box.querySelectorAll("input[type='file']:not([aria-label])").forEach(function (input) {
        input.setAttribute("aria-label", name);
        input.setAttribute("tabindex", "-1");  // the button beside it opens the same dialog
      });
    });
  }
  let queued = false;
  const observer = new MutationObserver(function () {
    if (!queued) {
      queued = true;
      window.requestAnimationFrame(function () {
        queued = false;
        nameWidgets(document);
      });
    }
  });
  function start() {
    nameWidgets(document);
    // React re-adds an attribute when its value changes (a radio chosen): watch those too
    observer.observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true,
                                     attributeFilter: ["role", "aria-selected", "aria-hidden"]});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
