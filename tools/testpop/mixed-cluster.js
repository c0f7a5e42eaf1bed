#!/usr/bin/env node
// Mixed cluster check (docs/ringpop.md): N swimring processes and N
// ringpop-node processes on 127.0.0.1 join one cluster through one hosts
// file, converge to one membership, agree on the owner of 10,000 keys, and
// detect a kill -9 of either kind.
//
//   node mixed-cluster.js --testpop=PATH --ringpop-node=DIR [--n=3] [--keys=10000]
//   node mixed-cluster.js --ringd=PATH --app=rpnode-app.js --ringpop-node=DIR ...
//
// With --ringd our nodes are ringd with node.wire ringpop and the echo
// service, theirs ringpop-node applications (rpnode-app.js) with an HTTP
// front using handleOrProxy; then also: the ringd's own rings (HTTP
// /admin/lookup) agree on the 10,000 keys, and HTTP requests for 300 keys
// sent to ringpop-node nodes reach the owner (ours through ringpop-node's
// /proxy/req) and those sent to ringd reach the owner (theirs through our
// /proxy/req).
//
// DIR is a ringpop-node checkout with its dependencies installed; the
// tchannel module is taken from NODE_PATH (ringpop-common's test/node_modules
// has it). Every wait polls with a deadline; only the processes this script
// started are killed, by pid. Exit 0 when every check passed.
'use strict';

var childProc = require('child_process');
var fs = require('fs');
var net = require('net');
var os = require('os');
var path = require('path');
var TChannel = require('tchannel');

function arg(name, dflt) {
    var pre = '--' + name + '=';
    var hit = process.argv.filter(function (a) { return a.indexOf(pre) === 0; })[0];
    return hit ? hit.slice(pre.length) : dflt;
}

var testpop = arg('testpop');
var ringd = arg('ringd');
var app = arg('app');
var rpnode = arg('ringpop-node');
var n = Number(arg('n', '3'));
var nkeys = Number(arg('keys', '10000'));
var nroute = Number(arg('route-keys', '300'));
if ((!testpop && !(ringd && app)) || !rpnode) {
    console.error('usage: mixed-cluster.js (--testpop=PATH | --ringd=PATH --app=PATH) ' +
                  '--ringpop-node=DIR [--n=3] [--keys=10000]');
    process.exit(2);
}
var http = require('http');
var agent = new http.Agent({keepAlive: true, maxSockets: 16});
var httpOf = {};  // TChannel host:port -> HTTP host:port (ringd mode)
var isRingd = {}; // TChannel host:port of each ringd

function httpGet(hostPort, pathname, cb) {
    var hp = hostPort.split(':');
    var req = http.request({host: hp[0], port: Number(hp[1]), path: pathname, agent: agent,
                            timeout: 5000}, function (res) {
        var chunks = [];
        res.on('data', function (c) { chunks.push(c); });
        res.on('end', function () {
            var body = null;
            try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { body = null; }
            cb(null, res.statusCode, body);
        });
    });
    req.on('timeout', function () { req.destroy(new Error('timeout')); });
    req.on('error', function (e) { cb(e); });
    req.end();
}

var procs = [];
var failures = 0;
function check(ok, what) {
    console.log((ok ? 'ok   ' : 'FAIL ') + what);
    if (!ok) { failures++; }
}

function freePort(cb) {
    var srv = net.createServer();
    srv.listen(0, '127.0.0.1', function () {
        var port = srv.address().port;
        srv.close(function () { cb(port); });
    });
}

function freePorts(k, cb, acc) {
    acc = acc || [];
    if (acc.length === k) { return cb(acc); }
    freePort(function (p) {
        if (acc.indexOf(p) < 0) { acc.push(p); }
        freePorts(k, cb, acc);
    });
}

var channel = new TChannel();
var client = channel.makeSubChannel({serviceName: 'ringpop', peers: []});

function call(hostPort, endpoint, body, cb) {
    client.waitForIdentified({host: hostPort}, function (err) {
        if (err) { return cb(err); }
        client.request({
            serviceName: 'ringpop', host: hostPort, timeout: 2000, hasNoParent: true,
            headers: {as: 'raw', cn: 'mixed-cluster'}
        }).send(endpoint, null, body ? JSON.stringify(body) : null, function (err2, res, a2, a3) {
            if (err2) { return cb(err2); }
            var parsed = null;
            try { parsed = JSON.parse(String(a3)); } catch (e) { return cb(e); }
            cb(null, parsed);
        });
    });
}

// A call that a loaded machine let time out is asked again (twice): a lost
// answer is not a disagreement.
function callRetry(hostPort, endpoint, body, cb, tries) {
    tries = tries || 0;
    call(hostPort, endpoint, body, function (err, r) {
        if (err && tries < 2) { return callRetry(hostPort, endpoint, body, cb, tries + 1); }
        cb(err, r);
    });
}

// Poll fn(done(ok)) every 200 ms until ok or ms pass.
function waitFor(ms, fn, cb) {
    var end = Date.now() + ms;
    (function again() {
        fn(function (ok) {
            if (ok) { return cb(true); }
            if (Date.now() > end) { return cb(false); }
            setTimeout(again, 200);
        });
    }());
}

function statsOf(nodes, cb) {
    var out = {}, left = nodes.length;
    nodes.forEach(function (hp) {
        call(hp, '/admin/stats', null, function (err, s) {
            out[hp] = err ? null : s;
            if (--left === 0) { cb(out); }
        });
    });
}

// "addr status" of every member a node sees, sorted: one string per view.
function view(stats) {
    return stats.membership.members.map(function (m) {
        return m.address + ' ' + m.status;
    }).sort().join(',');
}

function converged(nodes, expectAlive, cb) {
    statsOf(nodes, function (all) {
        var views = nodes.map(function (hp) { return all[hp] ? view(all[hp]) : null; });
        var same = views.every(function (v) { return v !== null && v === views[0]; });
        var alive = same && all[nodes[0]].membership.members.filter(function (m) {
            return m.status === 'alive' && expectAlive.indexOf(m.address) >= 0;
        }).length === expectAlive.length;
        cb(same && alive);
    });
}

function seesDead(nodes, dead, cb) {
    statsOf(nodes, function (all) {
        cb(nodes.every(function (hp) {
            var m = all[hp] && all[hp].membership.members.filter(function (x) {
                return x.address === dead;
            })[0];
            return m && m.status !== 'alive' && m.status !== 'suspect';
        }));
    });
}

function lookups(nodes, cb) {
    var differ = 0, done = 0, i = 0, inflight = 0, failed = 0;
    var rings = nodes.filter(function (hp) { return isRingd[hp]; });
    function next() {
        while (inflight < 64 && i < nkeys) {
            (function (key) {
                inflight++;
                var owners = [], left = nodes.length + rings.length;
                // ringd: the node's own ring too (what its forwarding uses)
                rings.forEach(function (hp) {
                    httpGet(httpOf[hp], '/admin/lookup?key=' + encodeURIComponent(key),
                            function (err, code, r) { owners.push(err || !r ? null : r.owner); fin(); });
                });
                nodes.forEach(function (hp) {
                    callRetry(hp, '/admin/lookup', {key: key}, function (err, r) {
                        owners.push(err ? null : r.dest);
                        fin();
                    });
                });
                function fin() {
                    if (--left > 0) { return; }
                    if (owners.indexOf(null) >= 0) { failed++; }
                    else if (owners.some(function (o) { return o !== owners[0]; })) { differ++; }
                    inflight--;
                    if (++done === nkeys) { return cb(differ, failed); }
                    next();
                }
            }('key-' + i++));
        }
    }
    next();
}

// HTTP GET /v1/echo/KEY on every node for nroute keys: the answer must come
// from the key's owner; count those that crossed kinds.
function routing(ours, theirs, cb) {
    var all = ours.concat(theirs), k = 0, wrong = 0, failed = 0, viaTheirs = 0, viaOurs = 0;
    var firstWrong = null;
    (function next() {
        if (k === nroute) { return cb(wrong, failed, viaTheirs, viaOurs, firstWrong); }
        var key = 'route-' + k++;
        call(all[0], '/admin/lookup', {key: key}, function (err, r) {
            if (err) { failed++; return next(); }
            var owner = r.dest, entries = [theirs[k % n], ours[k % n]], left = 2;
            entries.forEach(function (entry) {
                httpGet(httpOf[entry], '/v1/echo/' + key, function (err2, code, b) {
                    if (err2 || code !== 200 || !b) { failed++; }
                    else if (b.node !== owner || b.key !== key ||
                             (b.via === 'ringpop-node') !== (theirs.indexOf(owner) >= 0)) {
                        wrong++;
                        firstWrong = firstWrong || (entry + ' ' + key + ' owner ' + owner + ': ' + JSON.stringify(b));
                    } else if (theirs.indexOf(entry) >= 0 && ours.indexOf(owner) >= 0) { viaTheirs++; }
                    else if (ours.indexOf(entry) >= 0 && theirs.indexOf(owner) >= 0) { viaOurs++; }
                    if (--left === 0) { next(); }
                });
            });
        });
    }());
}

function start(ports) {
    if (ringd) { return startRingd(ports); }
    var hosts = ports.map(function (p) { return '127.0.0.1:' + p; });
    var hostsFile = path.join(os.tmpdir(), 'mixed-cluster-' + process.pid + '.json');
    fs.writeFileSync(hostsFile, JSON.stringify(hosts));
    var ours = hosts.slice(0, n), theirs = hosts.slice(n);
    var flags = ['--hosts=' + hostsFile, '--suspect-period=1000', '--faulty-period=60000',
                 '--tombstone-period=60000'];
    ours.forEach(function (hp) {
        procs.push({hp: hp, p: childProc.spawn(testpop, ['--listen=' + hp].concat(flags),
                                               {stdio: ['ignore', 'ignore', 'inherit']})});
    });
    theirs.forEach(function (hp) {
        procs.push({hp: hp, p: childProc.spawn(process.execPath,
            [path.join(rpnode, 'main.js'), '--listen=' + hp].concat(flags),
            {stdio: ['ignore', 'ignore', 'ignore'], env: process.env})});
    });
    var all = ours.concat(theirs);
    var t0 = Date.now();
    waitFor(30000, function (done) { converged(all, all, done); }, function (ok) {
        check(ok, 'all ' + all.length + ' nodes (' + n + ' swimring, ' + n +
              ' ringpop-node) converged to one membership in ' + (Date.now() - t0) + ' ms');
        if (!ok) { return finish(); }
        lookups(all, function (differ, failed) {
            check(differ === 0 && failed === 0, nkeys + ' keys: ' + differ +
                  ' owners differ between nodes, ' + failed + ' lookups failed');
            killAndWait(all, ours[0], 'swimring', function () {
                killAndWait(all.filter(function (h) { return h !== ours[0]; }), theirs[0],
                            'ringpop-node', finish);
            });
        });
    });
}

function startRingd(ports) {
    var hosts = ports.slice(0, 2 * n).map(function (p) { return '127.0.0.1:' + p; });
    var https = ports.slice(2 * n).map(function (p) { return '127.0.0.1:' + p; });
    hosts.forEach(function (hp, i) { httpOf[hp] = https[i]; });
    var hostsFile = path.join(os.tmpdir(), 'mixed-cluster-' + process.pid + '.json');
    fs.writeFileSync(hostsFile, JSON.stringify(hosts));
    var ours = hosts.slice(0, n), theirs = hosts.slice(n);
    ours.forEach(function (hp) { isRingd[hp] = true; });
    ours.forEach(function (hp, i) {
        var log = path.join(os.tmpdir(), 'mixed-cluster-' + process.pid + '-ringd' + i + '.log');
        procs.push({hp: hp, p: childProc.spawn(ringd, [
            '--listen', hp, '--http', httpOf[hp], '--seeds', hosts.join(','), '--services', 'echo',
            '--set', 'node.wire=ringpop', '--set', 'ringpop.suspect_ms=1000',
            '--set', 'ringpop.faulty_ms=60000', '--set', 'ringpop.tombstone_ms=60000',
            '--set', 'node.log.file=' + log], {stdio: ['ignore', 'ignore', 'inherit']})});
    });
    theirs.forEach(function (hp) {
        procs.push({hp: hp, p: childProc.spawn(process.execPath,
            [app, '--ringpop-node=' + rpnode, '--listen=' + hp, '--hosts=' + hostsFile,
             '--http=' + httpOf[hp], '--suspect-period=1000', '--faulty-period=60000',
             '--tombstone-period=60000'],
            {stdio: ['ignore', 'ignore', 'inherit'], env: process.env})});
    });
    var all = ours.concat(theirs);
    var t0 = Date.now();
    waitFor(30000, function (done) { converged(all, all, done); }, function (ok) {
        check(ok, 'all ' + all.length + ' nodes (' + n + ' ringd with node.wire ringpop, ' + n +
              ' ringpop-node) converged to one membership in ' + (Date.now() - t0) + ' ms');
        if (!ok) { return finish(); }
        lookups(all, function (differ, failed) {
            check(differ === 0 && failed === 0, nkeys + ' keys: ' + differ +
                  ' owners differ between the 6 nodes and the 3 ringd node rings, ' + failed +
                  ' lookups failed');
            var t1 = Date.now();
            // ringpop-node refuses /proxy/req while ring checksums differ:
            // a first pass may meet that; every key must come right.
            routing(ours, theirs, function (wrong, failed2, viaTheirs, viaOurs, firstWrong) {
                check(wrong === 0 && failed2 === 0 && viaTheirs > 0 && viaOurs > 0,
                      nroute + ' keys x 2 HTTP requests (one to a ringpop-node, one to a ringd): ' +
                      wrong + ' answered by a non-owner, ' + failed2 + ' failed; ' + viaTheirs +
                      ' reached a ringd owner through ringpop-node handleOrProxy, ' + viaOurs +
                      ' reached a ringpop-node owner through ringd /proxy/req (' +
                      (Date.now() - t1) + ' ms)' + (firstWrong ? '; first wrong: ' + firstWrong : ''));
                killAndWait(all, ours[0], 'ringd', function () {
                    killAndWait(all.filter(function (h) { return h !== ours[0]; }), theirs[0],
                                'ringpop-node', finish);
                });
            });
        });
    });
}

function killAndWait(nodes, victim, kind, cb) {
    var pr = procs.filter(function (x) { return x.hp === victim; })[0];
    pr.p.kill('SIGKILL');
    var rest = nodes.filter(function (h) { return h !== victim; });
    var t0 = Date.now();
    waitFor(20000, function (done) { seesDead(rest, victim, done); }, function (ok) {
        check(ok, 'kill -9 of a ' + kind + ' node: every other node holds it faulty after ' +
              (Date.now() - t0) + ' ms');
        cb();
    });
}

function finish() {
    procs.forEach(function (x) {
        if (x.p.exitCode === null && x.p.signalCode === null) { x.p.kill('SIGKILL'); }
    });
    channel.close();
    agent.destroy();
    console.log(failures === 0 ? 'mixed-cluster: all checks passed' : 'mixed-cluster: ' + failures + ' check(s) failed');
    process.exit(failures === 0 ? 0 : 1);
}

setTimeout(function () { check(false, 'overall deadline (120 s)'); finish(); }, 120000).unref();
freePorts(ringd ? 4 * n : 2 * n, start);
