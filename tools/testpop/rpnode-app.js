#!/usr/bin/env node
// A ringpop-node application for the mixed cluster (mixed-cluster.js): a
// ringpop-node member (flags as ringpop-node's main.js: --listen, --hosts,
// --suspect-period, --faulty-period, --tombstone-period) plus an HTTP front
// on --http that routes GET/POST /v1/echo/KEY with ringpop's handleOrProxy,
// answering like ringd's echo service with "via": "ringpop-node" added.
// Requests proxied here by other members arrive as ringpop's 'request'
// event and get the same answer.
'use strict';

var http = require('http');
var path = require('path');

function arg(name, dflt) {
    var pre = '--' + name + '=';
    var hit = process.argv.filter(function (a) { return a.indexOf(pre) === 0; })[0];
    return hit ? hit.slice(pre.length) : dflt;
}

var rpdir = arg('ringpop-node');
var RingPop = require(path.join(rpdir, 'index.js'));
var TChannel = require('tchannel');
var listen = arg('listen'), hosts = arg('hosts'), httpAddr = arg('http');
var parts = listen.split(':');

var channel = new TChannel();
var ringpop = new RingPop({
    app: 'ringpop',
    hostPort: listen,
    channel: channel.makeSubChannel({serviceName: 'ringpop', trace: false}),
    isCrossPlatform: true,
    useLatestHash32: false,
    stateTimeouts: {
        suspect: Number(arg('suspect-period', '5000')),
        faulty: Number(arg('faulty-period', '86400000')),
        tombstone: Number(arg('tombstone-period', '5000'))
    }
});
ringpop.setupChannel();

function keyOf(url) {
    var m = /^\/v1\/echo\/([^/?]+)/.exec(url || '');
    return m ? decodeURIComponent(m[1]) : null;
}

// Answer here: what ringd's echo says, marked as ringpop-node's. A proxied
// request's response is ringpop-node's hammock mock, whose setHeader throws
// on Node 20: only real HTTP answers get a content-type.
function answer(req, res, real) {
    var chunks = [];
    req.on('data', function (c) { chunks.push(c); });
    req.on('end', function () {
        var key = keyOf(req.url);
        var out = {node: ringpop.whoami(), key: key, via: 'ringpop-node'};
        var body = Buffer.concat(chunks).toString();
        if (body) { out.body = body; }
        res.statusCode = key === null ? 404 : 200;
        if (real === true) { res.setHeader('content-type', 'application/json'); }
        res.end(JSON.stringify(out));
    });
}

ringpop.on('request', function (req, res) { answer(req, res, false); }); // /proxy/req

var server = http.createServer(function (req, res) {
    var key = keyOf(req.url);
    if (key === null) {
        res.statusCode = 404;
        return res.end('{"error":"no such route"}');
    }
    if (ringpop.handleOrProxy(key, req, res)) {
        answer(req, res, true); // ours
    }
});

process.once('SIGTERM', function () { process.exit(0); });
var hp = httpAddr.split(':');
server.listen(Number(hp[1]), hp[0], function () {
    channel.listen(Number(parts[1]), parts[0], function () { ringpop.bootstrap(hosts); });
});
