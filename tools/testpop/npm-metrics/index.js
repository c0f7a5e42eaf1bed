'use strict';
// Minimal Meter and Histogram: enough for tchannel's optional stats in the
// ringpop-common integration suite, which never reads the figures back.
function Meter() { this.count = 0; }
Meter.prototype.mark = function mark(n) { this.count += (n === undefined ? 1 : n); };
Meter.prototype.oneMinuteRate = function () { return 0; };
Meter.prototype.fiveMinuteRate = function () { return 0; };
Meter.prototype.fifteenMinuteRate = function () { return 0; };
Meter.prototype.meanRate = function () { return 0; };
Meter.prototype.printObj = function () { return {type: 'meter', count: this.count}; };
Meter.prototype.toJSON = Meter.prototype.printObj;

function Histogram() { this.count = 0; this.sum = 0; this.min = null; this.max = null; }
Histogram.createUniformHistogram = function () { return new Histogram(); };
Histogram.createExponentialDecayHistogram = function () { return new Histogram(); };
Histogram.prototype.update = function update(v) {
    this.count++; this.sum += v;
    if (this.min === null || v < this.min) { this.min = v; }
    if (this.max === null || v > this.max) { this.max = v; }
};
Histogram.prototype.clear = function () { Histogram.call(this); };
Histogram.prototype.mean = function () { return this.count ? this.sum / this.count : 0; };
Histogram.prototype.percentiles = function (ps) {
    var out = {};
    (ps || []).forEach(function (p) { out[p] = this.mean(); }, this);
    return out;
};
Histogram.prototype.printObj = function () { return {type: 'histogram', count: this.count, min: this.min, max: this.max, mean: this.mean()}; };
Histogram.prototype.toJSON = Histogram.prototype.printObj;

function Counter() { this.count = 0; }
Counter.prototype.inc = function (n) { this.count += (n === undefined ? 1 : n); };
Counter.prototype.dec = function (n) { this.count -= (n === undefined ? 1 : n); };
Counter.prototype.clear = function () { this.count = 0; };
Counter.prototype.printObj = function () { return {type: 'counter', count: this.count}; };

function Timer() { this.histogram = new Histogram(); this.meter = new Meter(); }
Timer.prototype.update = function (v) { this.histogram.update(v); this.meter.mark(); };
Timer.prototype.printObj = function () { return {type: 'timer', histogram: this.histogram.printObj()}; };

module.exports = {Meter: Meter, Histogram: Histogram, Counter: Counter, Timer: Timer};
