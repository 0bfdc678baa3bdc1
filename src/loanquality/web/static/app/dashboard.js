// Charts of the 驾驶舱; the data comes from json_script blocks rendered by the server.
(function () {
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var trend = data("trend-data");
  if (!trend) return;
  var charts = [];
  function chart(id, option) {
    var c = echarts.init(document.getElementById(id));
    c.setOption(option);
    charts.push(c);
  }
  var asOfRatio = trend.npl_ratio[trend.dates.indexOf(trend.as_of)];
  chart("trend", {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: ["不良贷款余额(万元)", "不良率(%)"] },
    grid: { left: 60, right: 50, bottom: 30 },
    xAxis: { type: "category", data: trend.dates },
    yAxis: [{ type: "value", name: "万元" }, { type: "value", name: "%" }],
    series: [
      {
        name: "不良贷款余额(万元)", type: "bar", data: trend.npl_balance,
        // the report date chosen at the top of the page, among all the closes shown
        markLine: {
          symbol: "none", silent: true, lineStyle: { color: "#dc3545", type: "dashed" },
          label: { formatter: "报告日", color: "#dc3545" },
          data: [{ xAxis: trend.as_of }]
        }
      },
      {
        name: "不良率(%)", type: "line", yAxisIndex: 1, data: trend.npl_ratio,
        markPoint: {
          symbol: "circle", symbolSize: 10, itemStyle: { color: "#dc3545" },
          label: { position: "top", formatter: "{c}%", color: "#dc3545" },
          data: asOfRatio == null ? [] : [{ name: "报告日", coord: [trend.as_of, asOfRatio], value: asOfRatio }]
        }
      }
    ]
  });
  chart("structure", {
    animation: false,
    tooltip: { trigger: "item", formatter: "{b}: {c} 万元 ({d}%)" },
    series: [{ type: "pie", radius: ["35%", "70%"], data: data("structure-data") }]
  });
  var m = data("migration-data");
  chart("migration", {
    animation: false,
    tooltip: { formatter: function (p) { return m.from[p.value[1]] + " → " + m.to[p.value[0]] + ": " + p.value[2] + "%"; } },
    grid: { left: 40, right: 10, top: 10, bottom: 60 },
    xAxis: { type: "category", data: m.to, name: "期末" },
    yAxis: { type: "category", data: m.from, inverse: true },
    visualMap: { min: 0, max: 100, show: false, inRange: { color: ["#f7fbff", "#08306b"] } },
    series: [{ type: "heatmap", data: m.data, label: { show: true, fontSize: 9 } }]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
