(function(){"use strict";
var d=document,$=function(i){return d.getElementById(i)};
// Submit a form once; then disable its buttons.
d.querySelectorAll("form").forEach(function(f){var sent=false;
f.addEventListener("submit",function(e){if(sent){e.preventDefault();return}sent=true;
var b=e.submitter,all=f.querySelectorAll("button");if(b&&b.hidden)b=$("pay-button");if(b&&b.dataset.busy)b.textContent=b.dataset.busy;
all.forEach(function(x){x.setAttribute("aria-disabled","true")});
setTimeout(function(){all.forEach(function(x){x.disabled=true})},0)})});
addEventListener("pageshow",function(e){if(e.persisted)location.reload()});
var err=$("errors");if(err)err.focus();
var b=$("return-form");if(b)return b.submit()
var f=$("pay-form");if(!f)return;
var up=$("update-total"),card=$("card-fields"),pay=$("pay-button"),seq=0;
if(up)up.hidden=true;
function method(){var m=f.querySelector("input[name=method]:checked")||f.elements.method,v=m?m.value:"card";
f.querySelectorAll("[data-m]").forEach(function(e){e.hidden=e.dataset.m!=v});if(card)card.disabled=v!="card"}
method();
function set(i,v){var e=$(i);if(e)e.textContent=v||""}
function row(i,v){var e=$(i);if(e)e.hidden=!v}
function quote(){var u=f.dataset.quote;if(!u||!window.fetch)return;
var n=++seq;
fetch(u+"?country="+encodeURIComponent(f.elements.country.value)+"&region="+encodeURIComponent(f.elements.region.value),
{headers:{Accept:"application/json"}}).then(function(r){if(!r.ok)throw r.status;return r.json()}).then(function(t){if(n!==seq)return;
set("subtotal",t.subtotal);set("tax",t.tax);row("tax-row",t.tax);
var l=$("tax-label");if(l)l.textContent=t.tax_label||l.dataset.default;
set("included-tax",t.included_tax);row("included-row",t.included_tax);set("total",t.total);
for(var k in t.plans)set("plan-"+k,t.plans[k]);
if(pay&&t.total)pay.textContent=pay.dataset.label.replace("%s",t.total)}).catch(function(){if(up)up.hidden=false})}
f.addEventListener("change",function(e){var n=e.target.name;if(n==="method")method();if(n==="country"||n==="region")quote()})
})();
