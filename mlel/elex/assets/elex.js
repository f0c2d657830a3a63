// Slider tooltips: the boundary sliders run on log10(index); show the index itself.
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.elexPow10 = function (value) {
  return Number(Math.pow(10, value).toPrecision(3));
};
