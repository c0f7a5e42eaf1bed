'use strict';
// CRC-32C (Castagnoli, reflected 0x82F63B78), table driven.
var TABLE = (function makeTable() {
    var t = new Int32Array(256);
    for (var i = 0; i < 256; i++) {
        var c = i;
        for (var k = 0; k < 8; k++) {
            c = (c & 1) ? (0x82F63B78 ^ (c >>> 1)) : (c >>> 1);
        }
        t[i] = c;
    }
    return t;
}());

function calculate(input, initial) {
    var buf = Buffer.isBuffer(input) ? input : Buffer.from(String(input));
    var crc = ((initial || 0) ^ 0xFFFFFFFF) >>> 0;
    for (var i = 0; i < buf.length; i++) {
        crc = (TABLE[(crc ^ buf[i]) & 0xFF] ^ (crc >>> 8)) >>> 0;
    }
    return (crc ^ 0xFFFFFFFF) >>> 0;
}

function Crc32C(initial) { this.crc = initial || 0; }
Crc32C.prototype.update = function update(input) { this.crc = calculate(input, this.crc); return this.crc; };
Crc32C.prototype.crc = 0;

module.exports = {calculate: calculate, Crc32C: Crc32C, isHardwareCrcSupported: function () { return false; }};
